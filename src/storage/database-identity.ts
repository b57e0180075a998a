/**
 * Names a database without its credentials, so that files kept for it (usage rows spilled while it
 * was down) can say which database they belong to, and a gateway pointed at another database does
 * not write them there. A rotated password or another user name keeps the identity; another host,
 * port, database name or SQLite file changes it.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { isPostgresUrl } from './db.js';

/** `postgres://host:port/name` (no user, password or options) or `sqlite:/absolute/path`. */
export function databaseIdentity(url: string): string {
  if (isPostgresUrl(url)) return postgresIdentity(url);
  const path = url.replace(/^(sqlite|file):(\/\/)?/i, '');
  return `sqlite:${path === ':memory:' ? path : resolve(path)}`;
}

/** 12 hex characters of the identity's SHA-256: short enough for a file name, no secret in it. */
export function databaseTag(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

function postgresIdentity(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || '5432';
    return `postgres://${parsed.hostname.toLowerCase()}:${port}${parsed.pathname || '/'}`;
  } catch {
    // Not a URL `new URL` can read: drop anything that looks like user:password@ and keep the rest.
    return url.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '');
  }
}
