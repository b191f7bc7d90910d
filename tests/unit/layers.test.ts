// The import graph of lib/: each layer imports only from the layers below it,
// the flows (leaves) never import each other, and there is no cycle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../testbed/paths.ts';

const LIB = join(REPO_ROOT, 'lib');

/** Lower ranks are lower layers. A module's layer is its folder (or its name, at lib/'s top). */
const RANKS: Record<string, number> = {
  'errors.ts': 0,
  'log.ts': 0,
  'phases.ts': 0,
  'stray-errors.ts': 0,
  format: 1,
  output: 1,
  progress: 2,
  metrics: 2,
  kube: 3,
  'context.ts': 4,
  destination: 4,
  rclone: 5,
  stream: 5,
  store: 6,
  flow: 6,
  backup: 7,
  restore: 7,
  verify: 7,
  backups: 7,
  check: 7,
  operator: 7,
  version: 7,
  completion: 7,
};

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modules(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function layerOf(file: string): string {
  return relative(LIB, file).split('/')[0]!;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!));
  return found.filter((target) => target.startsWith(`${LIB}/`));
}

describe('lib/ layers', () => {
  const files = modules(LIB);
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  it('gives every folder of lib/ a layer', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((layer) => RANKS[layer] === undefined);
    assert.deepEqual(unknown, []);
  });

  it('has no import from a lower layer to a higher one, nor between two flows', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const [from, to] = [layerOf(file), layerOf(target)];
        if (from !== to && RANKS[from]! <= RANKS[to]!) {
          wrong.push(`${relative(LIB, file)} → ${relative(LIB, target)}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('has no import cycle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(LIB, f)).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
