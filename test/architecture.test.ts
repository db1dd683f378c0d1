/**
 * The house rules, checked over the real imports (DESIGN.md §5): an import points down a floor or
 * sideways within one, never up; folders on a floor import each other without a circle; the contract
 * is node-free; the console reaches the server's code only through the contract.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers.ts';

/** Floors from the ground up. A folder of src/ not named here is a domain. */
const FLOORS: Record<string, number> = { kernel: 0, config: 0, stores: 1, facts: 2, contract: 2, app: 4, cli: 4 };
const DOMAIN_FLOOR = 3;
const FLOOR_NAMES = ['kernel', 'stores', 'facts/contract', 'domains', 'app'];
const floorOf = (folder: string) => FLOORS[folder] ?? DOMAIN_FLOOR;

function sourceFiles(dir: string, withTests = false): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full, withTests));
    else if (/\.tsx?$/.test(entry.name) && (withTests || !/\.test\.tsx?$/.test(entry.name)) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every module a file imports or re-exports, statically or with import(), as written. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      specifiers.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifiers.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

const SRC = path.join(ROOT, 'src');
/** src/<folder>/… → folder */
const folderOf = (file: string) => path.relative(SRC, file).split(path.sep)[0];

interface Edge {
  from: string;
  to: string;
  file: string;
  target: string;
}

function sourceEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (!target.startsWith(SRC + path.sep)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) edges.push({ from, to, file: path.relative(ROOT, file), target: path.relative(ROOT, target) });
    }
  }
  return edges;
}

/** The strongly connected groups of more than one folder (Tarjan). */
function circles(edges: Edge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!graph.has(edge.from)) graph.set(edge.from, new Set());
    if (!graph.has(edge.to)) graph.set(edge.to, new Set());
    graph.get(edge.from)!.add(edge.to);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return groups;
}

test('no import points up a floor (kernel → stores → facts, contract → domains → app)', () => {
  const upward = sourceEdges()
    .filter((e) => floorOf(e.to) > floorOf(e.from))
    .map((e) => `${e.file} (${FLOOR_NAMES[floorOf(e.from)]}) imports ${e.target} (${FLOOR_NAMES[floorOf(e.to)]})`);
  assert.deepEqual([...new Set(upward)], [], `imports that point up a floor:\n${upward.join('\n')}`);
});

test('folders import each other without a circle', () => {
  const edges = sourceEdges();
  const found = circles(edges).map((group) => {
    const inside = edges.filter((e) => group.includes(e.from) && group.includes(e.to)).map((e) => `  ${e.file} → ${e.target}`);
    return `${group.join(' ⇄ ')}:\n${[...new Set(inside)].join('\n')}`;
  });
  assert.deepEqual(found, [], `circles between folders:\n${found.join('\n')}`);
});

test('the contract is node-free: it imports only zod and other contract files', () => {
  const offending: string[] = [];
  for (const file of sourceFiles(path.join(SRC, 'contract'))) {
    for (const specifier of importsOf(file)) {
      const inside = specifier.startsWith('.') && path.resolve(path.dirname(file), specifier).startsWith(path.join(SRC, 'contract') + path.sep);
      if (!inside && specifier !== 'zod') offending.push(`${path.relative(ROOT, file)} imports ${specifier}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('the console reaches the server code only through the contract', () => {
  const offending: string[] = [];
  for (const file of sourceFiles(path.join(ROOT, 'console', 'src'), true)) {
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (target.startsWith(SRC + path.sep) && folderOf(target) !== 'contract') offending.push(`${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('the check sees the imports it judges (a file known to import across floors is read)', () => {
  // Guards against a walker that silently finds nothing: the server wiring imports every domain.
  const fromApp = sourceEdges().filter((e) => e.file === path.join('src', 'app', 'server.ts'));
  assert.ok(fromApp.length >= 10, `src/app/server.ts: expected its imports of the domains, found ${fromApp.length}`);
  assert.ok(fromApp.some((e) => e.to === 'segments') && fromApp.some((e) => e.to === 'kernel'));
});
