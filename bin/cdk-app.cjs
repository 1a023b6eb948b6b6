#!/usr/bin/env node
/**
 * The CDK app as cdk.json runs it: from the compiled dist/ when dist was built from the sources as
 * they are now, else from the TypeScript sources through tsx.
 *
 * Compiling the app's TypeScript on every synth was a large share of its CPU time (docs/synth.md).
 * `npm run build` (also run by `npm ci`, as `prepare`) writes a stamp of the sources into dist/;
 * each synth compares it with the sources' current contents, so an edited, added or removed source
 * file, or a changed tsconfig, always runs from the sources. Plain CommonJS: it runs before any
 * compiler.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */
/* global require, module, __dirname, process -- Node.js CommonJS globals */
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

/** What tsconfig.build.json compiles, and the files that decide how. */
const SOURCE_DIRS = ['bin', 'lib', 'constructs', 'lambda', 'bench'];
const BUILD_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const STAMP = join('dist', '.sources.sha256');
const PENDING_STAMP = `${STAMP}.pending`;
const DIST_APP = join('dist', 'bin', 'albatross.js');

function typeScriptFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** A hash of every source's path and contents: it changes with any edit, addition or removal. */
function sourcesStamp(root) {
  const files = [...SOURCE_DIRS.flatMap((dir) => typeScriptFiles(join(root, dir))), ...BUILD_FILES.map((file) => join(root, file)).filter(existsSync)];
  const hash = createHash('sha256');
  for (const file of files.map((f) => relative(root, f)).sort()) {
    hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  }
  return hash.digest('hex');
}

/**
 * `npm run build` stamps in two steps around tsc: the sources are hashed before tsc reads them and
 * the stamp is committed only when tsc succeeded. A source edited during the build, or a failed
 * build, leaves no stamp that matches, so the next synth runs from the sources.
 */
function beginStamp(root) {
  rmSync(join(root, STAMP), { force: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, PENDING_STAMP), `${sourcesStamp(root)}\n`);
}

function commitStamp(root) {
  renameSync(join(root, PENDING_STAMP), join(root, STAMP));
}

function distIsFresh(root) {
  const stampFile = join(root, STAMP);
  if (!existsSync(stampFile) || !existsSync(join(root, DIST_APP))) return false;
  return readFileSync(stampFile, 'utf8').trim() === sourcesStamp(root);
}

/**
 * Node 22.1+ keeps the V8 bytecode of loaded modules on disk, so later synths skip compiling
 * aws-cdk-lib's modules again (a fifth of the app's CPU time); older Node has no such API.
 */
function enableCompileCache(root) {
  const { enableCompileCache: enable } = require('node:module');
  if (typeof enable === 'function') enable(join(root, 'node_modules', '.cache', 'albatross', 'node-compile-cache'));
}

function run(root) {
  enableCompileCache(root);
  if (distIsFresh(root)) {
    require(join(root, DIST_APP));
    return;
  }
  require('tsx/cjs');
  require(join(root, 'bin', 'albatross.ts'));
}

module.exports = { sourcesStamp, beginStamp, commitStamp, distIsFresh };

if (require.main === module) {
  const root = join(__dirname, '..');
  const commands = { '--begin-stamp': beginStamp, '--commit-stamp': commitStamp };
  (commands[process.argv[2]] ?? run)(root);
}
