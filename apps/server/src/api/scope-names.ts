/** The API key scopes (a leaf module: the request context and the scope table both read it). */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
