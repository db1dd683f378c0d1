#!/usr/bin/env node
// `siyu` when linked (npm link / npm install -g): runs the TypeScript CLI on Node >= 22.18, using the
// project's own Node 22 (the `node` devDependency) when the machine's Node is older.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'src', 'cli', 'siyu.ts');
const [major, minor] = process.versions.node.split('.').map(Number);
const modern = major > 22 || (major === 22 && minor >= 18);

if (modern) {
  process.argv[1] = cli;
  await import(cli);
} else {
  const bundled = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(bundled)) {
    console.error(`siyu: needs Node.js 22.18 or newer (this is ${process.version}); run npm install in ${root} first`);
    process.exit(1);
  }
  const result = spawnSync(bundled, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
