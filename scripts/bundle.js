/**
 * `npm run build` (after tsc): bundles the CLI into one ES module, dist/switchboard.js, and the
 * SQLite writer thread into dist/sqlite-writer-worker.js (the file src/storage/sqlite-writer.ts
 * looks for beside itself), so `switchboard start` reads and compiles two files instead of ~550
 * modules (bench/README.md, "Start-up"). Pure-JS packages (fastify, kysely, zod, undici, pino…)
 * go in; native, heavy or optional ones stay external and are still loaded on first use
 * (src/lazy-module.ts). src/runtime/young-generation.ts stays outside the bundle: bin/switchboard.js
 * loads it first, and the bundle must share that module's state. Source maps are written beside
 * each file; bin/switchboard.js turns them on for stack traces.
 */
import { build, transform } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages left out of the bundle: native, loaded lazily, or loaded through a dynamic import on first use. */
export const EXTERNAL = [
  'better-sqlite3',
  'pg',
  'pg-*',
  'ioredis',
  'google-auth-library',
  'aws4',
  '@smithy/*',
  'busboy',
  'stripe',
  'gpt-tokenizer',
];

/** The young-generation module is imported from its tsc output in dist/runtime/, shared with bin/switchboard.js. */
const sharedYoungGeneration = {
  name: 'shared-young-generation',
  setup(builder) {
    builder.onResolve({ filter: /runtime\/young-generation\.js$/ }, () => ({ path: './runtime/young-generation.js', external: true }));
  },
};

// CommonJS packages inside an ES module bundle call require() for Node's built-ins.
const banner = {
  js: "import { createRequire as __switchboardCreateRequire } from 'node:module'; const require = __switchboardCreateRequire(import.meta.url);",
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  sourcesContent: false,
  external: EXTERNAL,
  banner,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [sharedYoungGeneration],
};

/** The entry points: the CLI (what bin/switchboard.js imports) and its usage writer thread. */
export const BUNDLES = [
  { entry: 'src/cli.ts', outfile: 'dist/switchboard.js' },
  { entry: 'src/storage/sqlite-writer-worker.ts', outfile: 'dist/sqlite-writer-worker.js' },
];

/**
 * V8 keeps a module's source text for as long as its functions live (lazy compilation,
 * Function.prototype.toString), and keeps it at two bytes a character as soon as one character is
 * beyond Latin-1: one `’` in a comment doubled dist/switchboard.js's resident 5.4 MB to 10.6 MB of
 * heap (a heap snapshot of the gateway under load; bench/README.md, "Memory"). esbuild escapes
 * non-ASCII characters in strings, template literals, regular expressions and names (its default
 * `charset: 'ascii'`) but leaves comments as they are, so what is left of them is in comments:
 * each UTF-16 unit becomes a `?` (columns unchanged, the source map stays exact). The code without
 * comments and whitespace must be the same before and after, or the build fails.
 */
export async function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, '?');
  if (ascii === text) return 0;
  const code = async (source) => (await transform(source, { format: 'esm', minifyWhitespace: true, charset: 'utf8' })).code;
  if ((await code(text)) !== (await code(ascii))) throw new Error(`${file}: a non-ASCII character outside a comment; the bundle cannot be made ASCII-only`);
  writeFileSync(file, ascii);
  return text.length;
}

export async function bundle() {
  for (const { entry, outfile } of BUNDLES) {
    await build({ ...common, entryPoints: [join(ROOT, entry)], outfile: join(ROOT, outfile) });
    await asciiOnly(join(ROOT, outfile));
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) await bundle();
