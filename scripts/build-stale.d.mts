// Types of build-stale.mjs (plain JS: scripts/build.mjs runs it with node before anything is built).
export const STAMP: string;
export function sourceRoots(root: string): string[];
export function newestSource(root: string): { ms: number; file: string };
export function staleReason(root: string): string | null;
export function isStale(root: string): boolean;
