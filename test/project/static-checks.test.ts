/**
 * `npm run typecheck` and `npm run lint` as suites of the jest run, so that they run beside the
 * other suites on jest's workers instead of before them (`npm test` used to be typecheck, then
 * lint, then jest: some 35 CPU seconds on one core while the other one idled). A failure shows
 * the tool's own report. The scripts stay, for running one check alone.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** `npm run --silent <name>`: its exit status and everything it printed. */
function npmRun(name: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', name], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

test.each(['typecheck', 'lint'])('npm run %s passes', async (name) => {
  const { status, output } = await npmRun(name);
  if (status !== 0) throw new Error(`npm run ${name} exited with ${status}:\n${output}`);
}, 300_000);
