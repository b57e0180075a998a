/**
 * No import cycle among src/ files, type-only imports included: a cycle makes every module on it
 * load (and type-check) with the others, and is how a "leaf" type module ends up depending on the
 * request path. The graph comes from the TypeScript scanner (ts.preProcessFile), over every
 * `import`/`export … from` and dynamic import; relative `.js` specifiers resolve to the `.ts` file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SOURCE_ROOT = resolve(import.meta.dirname, '../../src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The src/ files one file imports (relative specifiers only; packages cannot close a cycle). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets: string[] = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), fileName.replace(/\.js$/, '.ts'));
    if (target.endsWith('.ts') && statSync(target, { throwIfNoEntry: false })?.isFile()) targets.push(target);
    else if (statSync(`${target}.ts`, { throwIfNoEntry: false })?.isFile()) targets.push(`${target}.ts`);
  }
  return targets;
}

/** Cycles as paths of files (relative to src/) returning to their first file: one for each import that closes a loop in a depth-first walk, so none is missed (a graph with a cycle has at least one). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  function visit(file: string): void {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  }
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('import cycles in src/', () => {
  const graph = new Map(sourceFiles(SOURCE_ROOT).map((file) => [relative(SOURCE_ROOT, file), importsOf(file).map((target) => relative(SOURCE_ROOT, target))]));

  it('finds a cycle when there is one (the checker itself)', () => {
    const cycles = importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]));
    expect(cycles).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('sees type-only imports and export-from lines', () => {
    expect(graph.get('gateway/pipeline.ts')).toContain('gateway/call-context.ts');
    expect(graph.get('http/context.ts')).toContain('gateway/call-context.ts');
  });

  it('has none', () => {
    expect(importCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });
});
