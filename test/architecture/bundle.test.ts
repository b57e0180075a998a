/**
 * `npm run build` bundles the CLI into dist/switchboard.js and the SQLite writer thread into
 * dist/sqlite-writer-worker.js (scripts/bundle.js) so that a start loads two files instead of ~550
 * modules. What these files may still load from node_modules is the external list: a package
 * bundled by mistake there (a native addon, or a lazily loaded one pulled in eagerly) would break
 * or slow every start. They hold only ASCII (scripts/bundle.js, asciiOnly). The built files must be
 * current: `npm test` builds first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module script without types
import { BUNDLES, EXTERNAL } from '../../scripts/bundle.js';

const ROOT = resolve(import.meta.dirname, '../..');
const bundles = BUNDLES as Array<{ entry: string; outfile: string }>;
const external = EXTERNAL as string[];

function isAllowed(specifier: string): boolean {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return true;
  if (specifier === './runtime/young-generation.js') return true;
  return external.some((pattern) => (pattern.endsWith('*') ? specifier.startsWith(pattern.slice(0, -1)) : specifier === pattern || specifier.startsWith(`${pattern}/`)));
}

/** Static imports, dynamic imports and the require() calls esbuild left for external CommonJS (`__require`), with a literal specifier. */
function specifiers(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gm)) found.add(match[1]);
  for (const match of code.matchAll(/(?:\b__require|(?<![\w.$])import)\(\s*"([^"]+)"\s*\)/g)) found.add(match[1]);
  return [...found];
}

describe.each(bundles)('bundle $outfile', ({ entry, outfile }) => {
  const file = resolve(ROOT, outfile);

  it('exists, with a source map that points into src/', () => {
    expect(existsSync(file), `${outfile} is missing: run \`npm run build\``).toBe(true);
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources).toContain(`../${entry}`);
    expect(readFileSync(file, 'utf8')).toContain(`//# sourceMappingURL=${outfile.split('/').pop()}.map`);
  });

  it('is ASCII-only, so that V8 keeps its source text at one byte a character (half the memory)', () => {
    const code = readFileSync(file, 'utf8');
    const found = /[^\x00-\x7f]/.exec(code);
    expect(found && code.slice(Math.max(0, found.index - 60), found.index + 20)).toBeNull();
  });

  it('loads from node_modules only the external packages', () => {
    const code = readFileSync(file, 'utf8');
    const found = specifiers(code);
    expect(found.length).toBeGreaterThan(0); // the scan sees the bundle's imports
    expect(found.filter((specifier) => !isAllowed(specifier))).toEqual([]);
  });
});

describe('bundle dist/switchboard.js', () => {
  it('shares the young-generation module with bin/switchboard.js instead of carrying a copy', () => {
    const code = readFileSync(resolve(ROOT, 'dist/switchboard.js'), 'utf8');
    expect(code).toContain('from "./runtime/young-generation.js"');
    expect(code).not.toContain('semi-space-growth-factor');
  });

  it('is what bin/switchboard.js starts', () => {
    expect(readFileSync(resolve(ROOT, 'bin/switchboard.js'), 'utf8')).toContain("import('../dist/switchboard.js')");
  });
});
