/** The drain CLI as `npm run drain` runs it: compiled into dist/, run as a child process. */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildDist, builtEntryPoint } from './dist';

const ROOT = join(__dirname, '..', '..');

export interface DrainRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** What `npm run drain` runs. */
const BUILT_CLI = builtEntryPoint('drain');

/**
 * Compiles the CLI into dist/ with the options of `npm run build` (tsconfig.build.json), so the
 * tests run the binary `npm run drain` runs — never a stale one, and on a fresh clone whether or
 * not `npm ci` has built it. Once per jest run (test/support/dist.ts).
 */
export function buildCli(): Promise<void> {
  return buildDist();
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

