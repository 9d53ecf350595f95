/**
 * @signals/netguard: the SSRF guard shared by every outbound request to a URL someone else chose
 * (notify's webhook sender, news' feed fetcher). No process.env: the allow list comes in as options.
 */
export * from './guard.ts';
