/**
 * The compiled entry points that tests run as child processes (dist/bin/*.js, as `npm run build`,
 * the Dockerfile and compose run them), built once per jest run.
 *
 * Each suite used to run the whole `tsc -p tsconfig.build.json` itself: about 24 CPU seconds each,
 * five times a run, with suites writing dist/ at the same time. Now the first suite that needs
 * dist/ compiles the import graph of the entry points below with the options of tsconfig.build.json
 * (about 10 CPU seconds: the graph has no aws-cdk-lib), and the others wait for its result. The run
 * directory that makes "once per run" comes from test/support/global-setup.js; without it (another
 * runner) each suite compiles for itself, as before.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The entry points tests and the container run: bin/<name>.ts compiles to dist/bin/<name>.js. */
const ENTRY_POINTS = ['proxy', 'drain', 'conformance', 'alert-rules', 'sample-app', 'compose'];

/** How long a suite waits for another suite's build before it fails (a build takes seconds). */
const WAIT_LIMIT_MS = 300_000;

/**
 * The timeout of the hook that awaits `buildDist`: a bound, not an expected duration. The build
 * competes with the other suites for the cores, so it gets its own hook and the wait limit.
 */
export const DIST_BUILD_TIMEOUT_MS = WAIT_LIMIT_MS + 10_000;
const POLL_MS = 100;

interface BuildResult {
  status: number | null;
  output: string;
}

/** `dist/bin/<name>.js` */
export function builtEntryPoint(name: string): string {
  return join(ROOT, 'dist', 'bin', `${name}.js`);
}

let building: Promise<void> | undefined;

/** Resolves once dist/ holds the entry points compiled from the current sources in this run; throws tsc's output otherwise. */
export function buildDist(): Promise<void> {
  building ??= buildOncePerRun(process.env.ALBATROSS_TEST_RUN_DIR);
  return building;
}

async function buildOncePerRun(runDir: string | undefined): Promise<void> {
  if (!runDir) return check(compile(mkdtempSync(join(tmpdir(), 'albatross-dist-'))));
  const resultFile = join(runDir, 'dist-build.json');
  if (claim(join(runDir, 'dist-build.lock'))) {
    const result = compile(runDir);
    writeFileSync(`${resultFile}.tmp`, JSON.stringify(result));
    renameSync(`${resultFile}.tmp`, resultFile);
    return check(result);
  }
  return check(await waitForResult(resultFile));
}

/** True for the one caller that creates `lockDir` (mkdir is atomic). */
function claim(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function waitForResult(resultFile: string): Promise<BuildResult> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!existsSync(resultFile)) {
    if (Date.now() > deadline) throw new Error(`no dist/ build result after ${WAIT_LIMIT_MS / 1000} s (${resultFile})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return JSON.parse(readFileSync(resultFile, 'utf8')) as BuildResult;
}

/** tsc on the entry points' import graph, with tsconfig.build.json's options, into dist/. */
function compile(configDir: string): BuildResult {
  const config = {
    extends: join(ROOT, 'tsconfig.build.json'),
    compilerOptions: { rootDir: ROOT, outDir: join(ROOT, 'dist'), typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ENTRY_POINTS.map((name) => join(ROOT, 'bin', `${name}.ts`)),
    include: [],
  };
  const configFile = join(configDir, 'tsconfig.dist.json');
  writeFileSync(configFile, JSON.stringify(config));
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', configFile], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}` };
}

function check(result: BuildResult): void {
  if (result.status !== 0) throw new Error(`building dist/ failed (tsc exit ${result.status}):\n${result.output}`);
}
