/**
 * Serves the admin web UI (the static build of ui/, in dist/ui) at /ui. The files need no key —
 * they hold no data; every API call the app makes carries the signed-in key. Hashed assets are
 * cached for a year, index.html is revalidated each time, paths that are not files get index.html
 * (the app routes on the client), and text files are sent gzip-compressed when the client takes it.
 * Files are read once and kept in memory: the whole build is a few hundred kilobytes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map']);

/** The page may load only its own scripts and styles and talk only to this gateway. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

/** dist/ui of the package this file belongs to (src/ under tests, dist/ when built); SWITCHBOARD_UI_DIR reaches here as `uiDirectory` through the runtime settings. */
export function defaultUiDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return join(directory, 'dist', 'ui');
}

export interface UiRouteOptions {
  /** The built UI (index.html and assets/); default: defaultUiDirectory(). */
  directory?: string;
}

export function registerUiRoutes(app: FastifyInstance, options: UiRouteOptions = {}): void {
  const root = resolve(options.directory ?? defaultUiDirectory());
  const files = new Map<string, Promise<StaticFile | null>>();

  const load = (relative: string): Promise<StaticFile | null> => {
    let file = files.get(relative);
    if (!file) {
      file = readFile(join(root, relative)).then(
        (body) => {
          const extension = extname(relative).toLowerCase();
          const gzip = COMPRESSIBLE.has(extension) && body.length > 1024 ? gzipSync(body) : null;
          return { body, gzip, type: CONTENT_TYPES[extension] ?? 'application/octet-stream' };
        },
        () => null,
      );
      // Missing files are not remembered: a build made after start is picked up.
      void file.then((loaded) => {
        if (!loaded) files.delete(relative);
      });
      files.set(relative, file);
    }
    return file;
  };

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string) => {
    reply.header('content-type', file.type);
    reply.header('cache-control', cacheControl);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('vary', 'accept-encoding');
    if (file.type.startsWith('text/html')) {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
    }
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (file.gzip && acceptsGzip) {
      reply.header('content-encoding', 'gzip');
      return reply.send(file.gzip);
    }
    return reply.send(file.body);
  };

  const serveIndex = async (request: FastifyRequest, reply: FastifyReply) => {
    const index = await load('index.html');
    if (!index) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`The admin UI is not built: run "npm run build" (it writes ${root}).\n`);
    }
    return send(request, reply, index, 'no-cache');
  };

  app.get('/ui', { config: { public: true } }, async (_request, reply) => reply.redirect('/ui/', 302));
  app.get('/ui/', { config: { public: true } }, serveIndex);
  app.get('/ui/*', { config: { public: true } }, async (request, reply) => {
    const wanted = decodeURIComponentSafe((request.params as { '*': string })['*']);
    const relative = wanted === null ? null : normalize(wanted).replace(/^([/\\])+/, '');
    if (relative === null || relative.startsWith('..') || relative.includes(`${sep}..${sep}`) || relative.includes('\0')) {
      return reply.code(400).type('text/plain; charset=utf-8').send('bad path\n');
    }
    const file = relative === '' ? null : await load(relative);
    if (file) return send(request, reply, file, relative.startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    // A path with a file extension names a file that is not there; anything else is a page.
    if (extname(relative) !== '') return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    return serveIndex(request, reply);
  });
}

function decodeURIComponentSafe(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** True when the UI has been built (used by `switchboard start` to say where it is). */
export function uiIsBuilt(directory = defaultUiDirectory()): boolean {
  return existsSync(join(directory, 'index.html'));
}
