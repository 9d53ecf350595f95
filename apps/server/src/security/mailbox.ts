/**
 * Keys for limits on confirmation mail. Counting per address as typed lets anyone send a victim
 * five mails an hour per spelling (`victim+1@`, `victim+2@`, `Victim@`...): these keys count the
 * mailbox the mail lands in, and the network a request comes from.
 */
import net from 'node:net';

/** Providers that ignore dots in the local part, and their aliases. */
const DOTLESS: Record<string, string> = { 'gmail.com': 'gmail.com', 'googlemail.com': 'gmail.com' };

/**
 * The mailbox an address delivers to, as far as we can tell without asking its server: lower case,
 * without a `+tag` (subaddressing, RFC 5233, as Gmail, Outlook, Fastmail and Proton deliver it),
 * and for Gmail without dots in the local part and with googlemail.com as gmail.com.
 */
export function normalizedMailbox(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0) return email.trim().toLowerCase();
  let local = email.slice(0, at).trim().toLowerCase();
  let domain = email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/\.$/, '');
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  const dotless = DOTLESS[domain];
  if (dotless) {
    domain = dotless;
    local = local.replaceAll('.', '');
  }
  return `${local}@${domain}`;
}

/**
 * The network a client address belongs to for rate limits: its /24 for IPv4, its /64 for IPv6 (one
 * host usually holds a whole /64, so per-address limits alone mean nothing there).
 */
export function addressRange(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (net.isIPv6(ip)) {
    const [head = '', tail = ''] = ip.toLowerCase().split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    return `${groups
      .slice(0, 4)
      .map((g) => Number.parseInt(g || '0', 16).toString(16))
      .join(':')}::/64`;
  }
  return ip;
}
