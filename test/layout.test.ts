/**
 * Where tests live (README, Tests): a folder's own logic is tested beside it, src/<folder>/*.test.ts,
 * on the real stores; a test that goes through the HTTP server, the CLI or the browser, or joins more
 * than one domain, lives in test/; attack replays in test/security/; reviewed SQL in test/golden/;
 * input files in test/fixtures/. What of this can be read from the files is checked here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers.ts';

/** src/ folders whose own tests may drive the server or the CLI: they are the server and the CLI. */
const TRANSPORT_FOLDERS = new Set(['app', 'cli']);
/** src/ folders that are floors below the domains, not domains (a test importing them joins no domain). */
const SHARED_FOLDERS = new Set(['kernel', 'config', 'stores', 'facts', 'contract']);
/** test/ subfolders and what they hold. */
const TEST_SUBFOLDERS = new Set(['security', 'golden', 'fixtures']);
/** Tests in test/ that check the repository's files rather than running the product. */
const REPOSITORY_CHECKS = new Set(['test/architecture.test.ts', 'test/layout.test.ts']);

/**
 * Domain tests that still drive the server or the CLI, each with where it should go. The list is
 * exact: a new one fails the test, and so does one that no longer needs to be here.
 */
const PENDING_MOVES: Record<string, string> = {
  'src/tags/definition.fuzz.test.ts': 'the HTTP half to test/security/ (a fuzzer of the tag routes); the schema half stays',
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else out.push(full);
  }
  return out;
}

const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');
const testFiles = (dir: string) =>
  filesUnder(path.join(ROOT, dir))
    .filter((f) => /\.test\.tsx?$/.test(f))
    .map(relative);

/** The modules a file imports, as written. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true).importedFiles.map((i) => i.fileName);
}

/** The repository path an import points to (only relative imports; packages are not ours). */
function resolved(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(path.resolve(ROOT, path.dirname(file), specifier));
}

/** Why a test drives the server, the CLI or a browser, or undefined when it does not. */
function transportOf(file: string): string | undefined {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  for (const target of importsOf(file).map((s) => resolved(file, s))) {
    if (!target) continue;
    if (target.startsWith('src/app/') || target.startsWith('src/server/')) return `imports ${target}`;
    if (target.startsWith('src/cli/')) return `imports ${target}`;
    // Its own folder's http.ts may hold a pure helper; another folder's routes are the server.
    const routes = target.match(/^src\/([^/]+)\/http\.ts$/);
    if (routes && routes[1] !== file.split('/')[1]) return `imports the routes ${target}`;
  }
  const call = /\b(startTestServer|runCli|buildServer|ensureChromium)\(/.exec(text);
  if (call) return `calls ${call[1]}()`;
  if (text.includes("'src/cli/main.ts'") || text.includes("'cli', 'main.ts'")) return 'runs src/cli/main.ts';
  return undefined;
}

/** The domain folders of src/ a test imports from. */
function domainsOf(file: string): Set<string> {
  const domains = new Set<string>();
  for (const target of importsOf(file).map((s) => resolved(file, s))) {
    const folder = target?.match(/^src\/([^/]+)\//)?.[1];
    if (folder && !SHARED_FOLDERS.has(folder) && !TRANSPORT_FOLDERS.has(folder)) domains.add(folder);
  }
  return domains;
}

test('test files live beside the code in src/<folder>/, in test/, or in test/security/', () => {
  const misplaced = [...testFiles('src'), ...testFiles('test')].filter((file) => {
    if (/^src\/[^/]+\/.+\.test\.tsx?$/.test(file)) return false;
    return !/^test\/([^/]+\.test\.ts|security\/[^/]+\.test\.ts)$/.test(file);
  });
  assert.deepEqual(misplaced, [], 'test files outside src/<folder>/, test/ and test/security/');
  // The console is tested in the browser from test/; nothing under console/ or bench/ is a test.
  for (const dir of ['console/src', 'bench']) assert.deepEqual(testFiles(dir), [], `${dir} holds no tests`);
});

test('test/ holds only security/, golden/ and fixtures/ as subfolders, and golden files and fixtures are data', () => {
  const subfolders = fs
    .readdirSync(path.join(ROOT, 'test'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.deepEqual(
    subfolders.filter((name) => !TEST_SUBFOLDERS.has(name)),
    [],
    'unexpected subfolders of test/',
  );
  for (const dir of ['test/golden', 'test/fixtures']) {
    const code = filesUnder(path.join(ROOT, dir))
      .map(relative)
      .filter((f) => /\.(ts|tsx|js|mjs)$/.test(f));
    assert.deepEqual(code, [], `${dir} holds data, not code`);
  }
});

test("a domain's own tests do not go through the HTTP server, the CLI or the browser (those live in test/)", () => {
  const throughTransport: Record<string, string> = {};
  for (const file of testFiles('src')) {
    const folder = file.split('/')[1];
    if (TRANSPORT_FOLDERS.has(folder)) continue;
    const why = transportOf(file);
    if (why) throughTransport[file] = why;
  }
  const unlisted = Object.entries(throughTransport).filter(([file]) => !(file in PENDING_MOVES));
  assert.deepEqual(unlisted, [], 'domain tests that drive the server or the CLI: move them to test/');
  const settled = Object.keys(PENDING_MOVES).filter((file) => !(file in throughTransport));
  assert.deepEqual(settled, [], 'these no longer drive the server or the CLI (or moved): take them off PENDING_MOVES');
});

test('a test in test/ drives the server, the CLI or the browser, or joins more than one domain', () => {
  const local = testFiles('test')
    .filter((file) => !file.startsWith('test/security/') && !REPOSITORY_CHECKS.has(file))
    .filter((file) => !transportOf(file) && !/\bspawn\(|\bfetch\(|\bcallApi\(/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')))
    .map((file) => ({ file, domains: [...domainsOf(file)] }))
    .filter(({ domains }) => domains.length < 2);
  assert.deepEqual(local, [], "tests of one domain's logic belong beside it, in src/<domain>/");
});

test('the layout checks see what they look for', () => {
  // Each check above passes on an empty list too; these make sure the readers find real cases.
  assert.match(transportOf('test/cli.test.ts') ?? '', /runCli/);
  assert.match(transportOf('src/tags/definition.fuzz.test.ts') ?? '', /startTestServer/);
  assert.equal(transportOf('src/kernel/csv.test.ts'), undefined);
  assert.equal(transportOf('src/tracking/tracking.test.ts'), undefined, 'its own http.ts helper is not the server');
  assert.ok(domainsOf('test/oneid-joins.test.ts').size >= 2);
  assert.ok(testFiles('src').length > 20 && testFiles('test').length > 20);
});
