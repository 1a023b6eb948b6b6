/**
 * The engines check: the suite's own Node is one package.json allows, and a CLI on an older Node
 * says so in one line instead of crashing inside a dependency.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimumMajor, requiredNodeRange, unsupportedNodeMessage } from '../../../lib/util/node-support';

const ROOT = join(__dirname, '..', '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

test(`the suite runs on a Node that package.json's engines allows (this is ${process.version})`, () => {
  expect(requiredNodeRange()).toBe(PACKAGE.engines.node);
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(minimumMajor(PACKAGE.engines.node));
});

test('minimumMajor reads ">=N" ranges and refuses any other form', () => {
  expect(minimumMajor('>=24')).toBe(24);
  expect(minimumMajor('>=22.19.0')).toBe(22);
  expect(() => minimumMajor('^24 || ^26')).toThrow('engines.node must be ">=N" (got "^24 || ^26")');
});

test('an older Node gets one line naming the required range and its own version; an allowed one none', () => {
  expect(unsupportedNodeMessage('proxy', 'v20.20.2', '>=24')).toBe('proxy: needs Node.js >=24 (package.json engines), this is Node.js 20.20.2; switch Node (e.g. nvm install 24) and run npm ci again');
  expect(unsupportedNodeMessage('proxy', '24.0.0', '>=24')).toBeUndefined();
  expect(unsupportedNodeMessage('proxy', '26.1.0', '>=24')).toBeUndefined();
});

describe.each(['proxy', 'drain'])('bin/%s.ts on a Node older than engines', (cli) => {
  test('exits 1 with one line on stderr, before the command line is even parsed (no --help)', () => {
    // tsx loads first, then Node reports an old version to everything after it: the CLI's imports.
    const dir = mkdtempSync(join(tmpdir(), 'albatross-old-node-'));
    const pretend = join(dir, 'pretend-node-20.cjs');
    writeFileSync(pretend, "Object.defineProperty(process.versions, 'node', { value: '20.20.2' });\n");
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '--require', pretend, join(ROOT, 'bin', `${cli}.ts`), '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe(`${cli}: needs Node.js ${PACKAGE.engines.node} (package.json engines), this is Node.js 20.20.2; switch Node (e.g. nvm install ${minimumMajor(PACKAGE.engines.node)}) and run npm ci again\n`);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(1);
  });
});
