import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// The layering the architecture page describes, kept true: no import cycle inside a package's
// src/ (type-only imports count: they tie modules together as much), and the runtime core never
// imports the emulator.
const root = fileURLToPath(new URL('..', import.meta.url));
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each source file's relative imports, resolved to files. */
function graph(files: string[]): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = [...readFileSync(file, 'utf8').matchAll(IMPORT)]
      .map((match) => match[1] ?? '')
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    edges.set(file, targets);
  }
  return edges;
}

/** The first cycle found by a depth-first walk, as a list of files, or undefined. */
export function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of edges.keys()) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

t.test('the cycle finder finds a cycle (so its silence below means something)', (t) => {
  const edges = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  t.same(findCycle(edges), ['a', 'b', 'c', 'a']);
  t.equal(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    undefined,
  );
  t.end();
});

const packages = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'src', 'index.ts')),
);
for (const name of packages) {
  t.test(`no import cycle in packages/${name}/src`, (t) => {
    const files = sources(join(root, 'packages', name, 'src'));
    t.ok(files.length > 0, `${files.length} files read`);
    const cycle = findCycle(graph(files));
    t.equal(cycle?.map((file) => relative(root, file)).join(' -> '), undefined);
    t.end();
  });
}

t.test('the runtime core never imports the emulator, the test kit or a Redis client', (t) => {
  // A Redis store is handed to the core as a value (`store: createRedisStore(…)`): users on one
  // instance never load a Redis client, and @chatgpt-rest/redis-store (which imports the core)
  // is not imported back.
  for (const file of sources(join(root, 'packages', 'core', 'src'))) {
    t.notMatch(
      readFileSync(file, 'utf8'),
      /(?:from|import)\s*\(?\s*['"](?:@chatgpt-rest\/(?:emulator|test-kit|redis-store)|ioredis|redis|@redis\/[^'"]*)['"]/,
      relative(root, file),
    );
  }
  t.end();
});
