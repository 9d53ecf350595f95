import {
  HostResolutionError,
  allowList,
  assertPublicUrl,
  embeddedIPv4,
  refusalReason,
  UnsafeUrlError,
} from '../src/index.ts';
import { describe, expect, it } from 'vitest';

async function refusal(url: string, policy: Parameters<typeof assertPublicUrl>[1] = {}): Promise<unknown> {
  try {
    await assertPublicUrl(url, policy);
  } catch (err) {
    return err;
  }
  return null;
}

const fakeDns =
  (table: Record<string, string[]>) =>
  async (host: string): Promise<{ address: string; family: number }[]> => {
    const list = table[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('SSRF guard (netguard)', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://10.0.0.1/hook', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local (cloud metadata)'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://0.0.0.0/', '"this network"'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://255.255.255.255/', 'reserved'],
    ['http://[::1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[::10.0.0.1]/', 'private'],
    ['http://[fd00::1]/', 'unique local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:a9fe:a9fe]/', 'link-local (cloud metadata)'],
    ['http://[64:ff9b::10.0.0.1]/', 'private'],
    // WHATWG URL parsing turns these spellings into 127.0.0.1: they must not slip through.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
  ])('refuses %s (%s)', async (url, reason) => {
    const err = await refusal(url);
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect((err as UnsafeUrlError).reason).toBe('address');
    expect((err as Error).message).toContain(reason);
  });

  it.each([
    ['http://user:pw@example.com/hook', 'credentials'],
    ['https://token@example.com/hook', 'credentials'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://example.com/', 'scheme'],
    ['ftp://example.com/', 'scheme'],
    ['/relative/path', 'invalid_url'],
  ])('refuses %s (%s)', async (url, reason) => {
    const err = await refusal(url);
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect((err as UnsafeUrlError).reason).toBe(reason);
    expect((err as Error).message).not.toContain('pw@');
  });

  it('allows a reserved address inside allowedCidrs, and only that', async () => {
    const ok = await assertPublicUrl('http://127.0.0.1:9999/hook', { allowedCidrs: ['127.0.0.1/32'] });
    expect(ok.addresses).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(await refusal('http://127.0.0.2/', { allowedCidrs: ['127.0.0.1/32'] })).toBeInstanceOf(UnsafeUrlError);
    expect(await refusal('http://[::ffff:127.0.0.1]/', { allowedCidrs: ['127.0.0.1'] })).toBeNull();
    expect(await refusal('http://[fd12::5]/', { allowedCidrs: ['fd12::/16'] })).toBeNull();
  });

  it('allows public addresses', async () => {
    expect(await refusal('https://93.184.216.34/hook')).toBeNull();
    expect(await refusal('https://[2606:4700::1111]/hook')).toBeNull();
  });

  it('checks every address a host resolves to', async () => {
    const lookup = fakeDns({
      'hooks.example.com': ['93.184.216.34', '2606:4700::1111'],
      'rebind.example.com': ['93.184.216.34', '10.0.0.7'],
      'metadata.example.com': ['169.254.169.254'],
    });
    const ok = await assertPublicUrl('https://hooks.example.com/x', { lookup });
    expect(ok.addresses.map((a) => a.address)).toEqual(['93.184.216.34', '2606:4700::1111']);
    const rebind = await refusal('https://rebind.example.com/x', { lookup });
    expect(rebind).toBeInstanceOf(UnsafeUrlError);
    // Our words for the page; what the name resolves to only in the detail (for the log).
    expect((rebind as Error).message).toBe('URL refused: its host is not a public address');
    expect((rebind as UnsafeUrlError).detail).toBe('rebind.example.com resolves to 10.0.0.7 (private)');
    expect((rebind as UnsafeUrlError).refusal).toBe('private');
    expect(await refusal('https://metadata.example.com/', { lookup })).toBeInstanceOf(UnsafeUrlError);
    const missing = await refusal('https://nxdomain.example.com/', { lookup });
    expect(missing).toBeInstanceOf(HostResolutionError);
    expect((missing as Error).message).toBe('URL unreachable: no address was found for its host name');
    expect((missing as HostResolutionError).detail).toBe('cannot resolve nxdomain.example.com (ENOTFOUND)');
  });

  it('resolves localhost with the system resolver and refuses it', async () => {
    const err = await refusal('http://localhost:3000/');
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect((err as UnsafeUrlError).refusal).toBe('loopback');
    expect((err as Error).message).not.toMatch(/127\.0\.0\.1|::1|resolves/);
  });

  it('never shows what an internal name resolves to, or why it does not resolve (issue 18, item 5)', async () => {
    const lookup = fakeDns({ vm: ['127.0.0.1'], 'db.internal': ['10.0.0.5', 'fd00::5'] });
    for (const url of ['http://vm:8080/', 'http://db.internal/', 'http://postgres:5432/']) {
      const err = (await refusal(url, { lookup, label: 'webhook URL' })) as UnsafeUrlError | HostResolutionError;
      expect(err.message).toMatch(/^webhook URL (refused|unreachable): /);
      expect(err.message).not.toMatch(/resolves|resolve|127\.0\.0\.1|10\.0\.0\.5|vm|db\.internal|postgres|ENOTFOUND/);
      expect(err.detail).toBeTruthy();
    }
  });

  it('reads IPv4 embedded in IPv6', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIPv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(embeddedIPv4('2606:4700::1111')).toBeNull();
    expect(refusalReason('93.184.216.34')).toBeNull();
    expect(refusalReason('198.18.0.1')).toBe('benchmarking');
    expect(refusalReason('2001:db8::1')).toBe('documentation');
  });

  it('rejects malformed allow lists', () => {
    expect(() => allowList(['127.0.0.1/33'])).toThrow();
    expect(() => allowList(['localhost'])).toThrow();
    expect(allowList(['10.0.0.0/8']).check('10.1.2.3', 'ipv4')).toBe(true);
  });

  it('names the URL as the caller calls it', async () => {
    const err = await refusal('http://10.1.2.3/feed.xml', { label: 'feed URL' });
    expect((err as Error).message).toBe('feed URL refused: 10.1.2.3 is not a public address (private)');
    expect(((await refusal('ftp://x.example/', { label: 'feed URL' })) as Error).message).toContain('feed URL scheme');
  });
});
