/**
 * CPU time of `npx cdk synth` of the Albatross app against a peer: a bare aws-ecs-patterns
 * ApplicationLoadBalancedEc2Service stack with the same VPC, cluster and HTTPS redirect
 * (bench/synth-peer-app.ts), compiled to JavaScript once before the runs. Both synthesize through
 * the CDK CLI from this directory, so with the same cdk.json context and feature flags.
 *
 * CPU time is user + system of the whole process tree (bash's `times` of its children), so it
 * counts the CLI, the app, esbuild and every worker thread. Rounds alternate the rows; each row
 * reports the median of its runs. Rows:
 *   - peer: the bare stack, `node peer-app.js`;
 *   - peer, our node flags: the peer under the V8 flags cdk.json runs our app with, like for like;
 *   - ours (warm): `npx cdk synth` as cdk.json runs it, Lambda bundle cached;
 *   - ours (cold bundle cache): the same after removing the bundle cache, as on a first synth.
 * `--ours <dir>` measures another checkout's `npx cdk synth` (for example the main branch) as
 * "ours (other checkout)" too. `--one-service` adds "ours, one service": the default stack with one
 * service instead of four (bench/one-service.json), for what each service costs. `--runs <n>` sets
 * the rounds (default 3).
 *
 * Run: `npm run bench:synth` (about 12 synths; minutes on a busy 2-core machine).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { median } from './rounds';

const root = resolve(__dirname, '..');
const peerApp = join(root, 'cdk.out.bench', 'peer-app.js');
const bundleCache = join(root, 'node_modules', '.cache', 'albatross');

interface Row {
  readonly name: string;
  readonly cwd: string;
  readonly app?: string;
  /** Extra arguments of `cdk synth`, such as `-c albatross.configFile=…`. */
  readonly args?: string;
  readonly before?: () => void;
  readonly cpu: number[];
  readonly wall: number[];
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** `bash -c '<cmd>; times'`: the second line of `times` is the children's user and system time. */
function seconds(field: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(field);
  if (!match) throw new Error(`unexpected times field ${field}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function synth(row: Row): void {
  row.before?.();
  const outdir = mkdtempSync(join(tmpdir(), 'albatross-synth-bench-'));
  const app = row.app ? ` --app ${JSON.stringify(row.app)}` : '';
  const command = `npx cdk synth -q${app}${row.args ? ` ${row.args}` : ''} -o ${JSON.stringify(outdir)} >/dev/null 2>${JSON.stringify(join(outdir, 'stderr.log'))}; code=$?; times; exit $code`;
  const start = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', command], { cwd: row.cwd, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${row.name}: synth failed (exit ${result.status}), see ${outdir}/stderr.log`);
  const [user, system] = result.stdout.trim().split('\n')[1].trim().split(/\s+/).map(seconds);
  row.cpu.push(user + system);
  row.wall.push(wall);
  rmSync(outdir, { recursive: true, force: true });
}

/** The node flags of cdk.json's app command (`node <flags> bin/cdk-app.cjs`). */
function ourNodeFlags(): string {
  const { app } = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { app: string };
  return app.split(' ').filter((word) => word.startsWith('--')).join(' ');
}

function compilePeer(): void {
  mkdirSync(join(root, 'cdk.out.bench'), { recursive: true });
  buildSync({ entryPoints: [join(root, 'bench', 'synth-peer-app.ts')], outfile: peerApp, platform: 'node', format: 'cjs', logLevel: 'warning' });
}

function main(): void {
  const runs = Number(option('--runs') ?? 3);
  const other = option('--ours');
  compilePeer();
  const row = (name: string, extra: Partial<Row> = {}): Row => ({ name, cwd: root, cpu: [], wall: [], ...extra });
  const peer = row('peer', { app: `node ${peerApp}` });
  const rows = [
    peer,
    row('peer, our node flags', { app: `node ${ourNodeFlags()} ${peerApp}` }),
    row('ours (warm)'),
    row('ours (cold bundle cache)', { before: () => rmSync(bundleCache, { recursive: true, force: true }) }),
    ...(other ? [row('ours (other checkout)', { cwd: resolve(other) })] : []),
    ...(process.argv.includes('--one-service') ? [row('ours, one service', { args: `-c albatross.configFile=${join(root, 'bench', 'one-service.json')}` })] : []),
  ];
  // One unmeasured synth of ours: compiles nothing, but fills the bundle cache for the warm row.
  synth(row('warm-up'));
  for (let round = 0; round < runs; round++) {
    for (const r of rows) {
      synth(r);
      process.stderr.write(`round ${round + 1}/${runs}: ${r.name} ${r.cpu[r.cpu.length - 1].toFixed(2)} s CPU\n`);
    }
  }
  const peerCpu = median(peer.cpu);
  console.log(`\nnpx cdk synth, CPU time (user + sys of the process tree), median of ${runs} alternating runs\n`);
  console.log(`${'row'.padEnd(28)} ${'CPU s'.padStart(7)} ${'wall s'.padStart(7)} ${'vs peer'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(28)} ${median(r.cpu).toFixed(2).padStart(7)} ${median(r.wall).toFixed(2).padStart(7)} ${`${(median(r.cpu) / peerCpu).toFixed(2)}x`.padStart(8)}`);
  }
}

main();
