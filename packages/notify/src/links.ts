/** Links back to the public site. The server app owns these routes; keep the two in step. */

export function trimBaseUrl(base: string): string {
  return base.replace(/\/+$/, '');
}

/** Double opt-in link: `${publicBaseUrl}/confirm?token=...`. */
export function confirmUrl(publicBaseUrl: string, token: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/confirm?token=${encodeURIComponent(token)}`;
}

/** One-click unsubscribe (GET shows a page, POST `List-Unsubscribe=One-Click` unsubscribes). */
export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/unsubscribe?token=${encodeURIComponent(token)}`;
}

export function preferencesUrl(publicBaseUrl: string, token: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/preferences?token=${encodeURIComponent(token)}`;
}

export function alertAdminUrl(publicBaseUrl: string, alertId: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/admin/alerts/${encodeURIComponent(alertId)}`;
}

export function endpointAdminUrl(publicBaseUrl: string, endpointId: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/admin/endpoints/${encodeURIComponent(endpointId)}`;
}

/** The System page: every loop, its interval, its last run and the incidents. */
export function systemAdminUrl(publicBaseUrl: string): string {
  return `${trimBaseUrl(publicBaseUrl)}/admin/system`;
}
