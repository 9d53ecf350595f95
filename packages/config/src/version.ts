/**
 * The release version. Written in one place, the root package.json's `version` (bumped with each
 * release, see CHANGELOG.md), and read here only: /healthz, the System page, the webhook
 * User-Agent and backups all ask this module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The product's name as it appears in User-Agent headers and backup files. */
export const APP_NAME = 'market-signals';

let cached: string | undefined;

/**
 * The root package.json's version. Found by walking up from this file, so it is the same from the
 * sources, from compiled output beside them and inside the Docker image (/app/package.json).
 */
export function appVersion(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === APP_NAME) {
        if (!pkg.version) throw new Error(`${file} has no "version"`);
        cached = pkg.version;
        return cached;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json named "${APP_NAME}" above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * User-Agent of outgoing requests: `market-signals/0.16.0 (+https://signals.example.com)`, the
 * convention (RFC 9110 product token, then a URL in a comment) that lets a receiver's operator see
 * what calls them, which release, and whose install it is.
 */
export function userAgent(publicBaseUrl?: string): string {
  return `${APP_NAME}/${appVersion()}${publicBaseUrl ? ` (+${publicBaseUrl})` : ''}`;
}
