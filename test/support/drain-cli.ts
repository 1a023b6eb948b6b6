/** The drain CLI as `npm run drain` runs it: compiled into dist/, run as a child process. */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface DrainRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** What `npm run drain` runs. */
const BUILT_CLI = join(ROOT, 'dist', 'bin', 'drain.js');

/**
 * Compiles the CLI's import graph into dist/ with the options of `npm run build`
 * (tsconfig.build.json), so the tests run the binary `npm run drain` runs — never a stale one, and
 * on a fresh clone whether or not `npm ci` has built it. Only this graph: a few seconds.
 */
export function buildCli(): void {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-drain-build-'));
  const config = {
    extends: join(ROOT, 'tsconfig.build.json'),
    compilerOptions: { rootDir: ROOT, outDir: join(ROOT, 'dist'), typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: [join(ROOT, 'bin', 'drain.ts')],
    include: [],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the drain CLI failed:\n${result.stdout}${result.stderr}`);
}

/** Runs the built CLI. `onStderr` sees the progress as it comes, with the child, e.g. to interrupt it. */
export function runDrain(args: string[], env: NodeJS.ProcessEnv = {}, onStderr?: (text: string, child: ChildProcess) => void): Promise<DrainRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

