/**
 * @module test/repo/import-graph
 * The gateway's imports run one way: no module of `gateway/` is in an import cycle. Read from the
 * source with TypeScript's own pre-processor (static, `export … from`, `import type` and dynamic
 * `import()` alike), so a cycle of type-only imports counts too: it still ties two modules together.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const repo = resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Each gateway module → the specifiers it imports, and the repo-relative modules they resolve to. */
function importGraph(): Map<string, { specifier: string; module: string }[]> {
  const graph = new Map<string, { specifier: string; module: string }[]>();
  for (const file of sources('gateway')) {
    const imported = ts.preProcessFile(readFileSync(join(repo, file), 'utf8'), true, true).importedFiles;
    graph.set(
      file,
      imported.map(({ fileName }) => ({
        specifier: fileName,
        // `./b.js` names b.ts as much as `./b.ts` does (TypeScript's NodeNext resolution).
        module: fileName.startsWith('.')
          ? relative(repo, resolve(repo, dirname(file), fileName.replace(/\.(m?)js$/, '.$1ts')))
          : fileName,
      })),
    );
  }
  return graph;
}

/** Every cycle, one per strongly connected component, as the path `a → b → … → a`. */
export function cycles(graph: Map<string, string[]>): string[] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set<string>();
    let w: string;
    do component.add((w = stack.pop()!));
    while (w !== v);
    if (component.size > 1 || graph.get(v)!.includes(v)) found.push(pathWithin(graph, component, v).join(' → '));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest path from `start` back to itself inside one component (breadth first). */
function pathWithin(graph: Map<string, string[]>, component: Set<string>, start: string): string[] {
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const between: string[] = [];
        for (let u = v; u !== start; u = from.get(u)!) between.unshift(u);
        return [start, ...between, start];
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

describe('gateway import graph', () => {
  const graph = importGraph();
  const modules = new Map([...graph].map(([file, imports]) => [file, imports.map((i) => i.module)]));

  it('finds a cycle when there is one, and names it (the check itself)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    assert.deepEqual(cycles(g), ['a.ts → b.ts → c.ts → a.ts']);
    assert.deepEqual(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
      [],
    );
  });

  it("reads the gateway's own modules", () => {
    assert.ok(modules.get('gateway/server/server.ts')?.includes('gateway/app.ts'), 'server.ts imports app.ts');
  });

  it('no module of gateway/ is in an import cycle', () => {
    assert.deepEqual(cycles(modules), []);
  });

  it("the gateway imports nothing outside gateway/ by relative path: the element's shared modules by package name", () => {
    const outside = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((i) => i.specifier.startsWith('.') && !i.module.startsWith('gateway/'))
        .map((i) => `${file}: ${i.specifier}`),
    );
    assert.deepEqual(outside, []);
    const build = ts.parseConfigFileTextToJson(
      'tsconfig.build.json',
      readFileSync(join(repo, 'gateway/tsconfig.build.json'), 'utf8'),
    ).config;
    // "." (gateway/ itself) is explicit so tsc refuses an import from outside; ".." was the old way out.
    assert.equal(
      build.compilerOptions.rootDir,
      '.',
      'gateway/tsconfig.build.json builds the gateway alone, without rootDir ".."',
    );
  });

  it('configuration does not import the spine: config.ts reaches clientShares without the rate limiter', () => {
    assert.ok(
      !modules.get('gateway/config/config.ts')!.includes('gateway/spine/rate-limiter.ts'),
      'config.ts imports spine/rate-limiter.ts',
    );
  });

  it('the spine core does not import observe/: protected-spine.ts gets its metrics injected', () => {
    assert.ok(
      !modules.get('gateway/spine/protected-spine.ts')!.includes('gateway/observe/gateway-metrics.ts'),
      'spine/protected-spine.ts imports observe/gateway-metrics.ts',
    );
  });
});
