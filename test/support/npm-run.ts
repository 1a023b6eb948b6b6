/**
 * `npm run --silent <script>` as a child process, for test/project/: `npm run typecheck` and
 * `npm run lint` are suites of the jest run, one each, so that they run on jest's workers beside
 * the other suites instead of before them (`npm test` used to be typecheck, then lint, then jest:
 * some 35 CPU seconds on one core while the other one idled). The scripts stay, for running one
 * check alone.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** How long a check may take before its test fails: a bound, not an expected duration. */
export const STATIC_CHECK_TIMEOUT_MS = 600_000;

/** Runs the script; rejects with everything it printed when it exits non-zero. */
export function npmRunPasses(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`npm run ${script} exited with ${status}:\n${output}`))));
  });
}
