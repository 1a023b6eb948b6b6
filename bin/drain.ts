#!/usr/bin/env node
/**
 * Drains targets from their load balancers before they stop:
 *   npm run drain -- --target i-0123456789abcdef0 --region eu-west-1 --stack Albatross
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import { AutoScalingClient, DescribeAutoScalingInstancesCommand, EnterStandbyCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Command, InvalidArgumentError, Option } from 'commander';
import { drainClientConfig } from '../lib/drain/clients';
import { DrainClients, DrainReport, drainTarget } from '../lib/drain/engine';
import { DrainError, DrainErrorCode, EXIT_CODES, toDrainError, worstOutcome } from '../lib/drain/errors';
import { RetryPolicy, withRetry } from '../lib/drain/retry';
import { MAX_DRAIN_TIMEOUT_SECONDS } from '../lib/drain/budget';
import { sendAdminToken } from '../lib/drain/admin-token';
import { proxyAdminInFlight } from '../lib/drain/signals';
import { DrainTarget, formatDrainTarget, parseDrainTarget } from '../lib/drain/target-id';

interface DrainCliOptions {
  target: string[];
  region?: string;
  stack?: string;
  targetGroup: string[];
  cluster?: string;
  timeout?: number;
  pollInterval: number;
  dryRun?: boolean;
  json?: boolean;
  standby?: boolean;
  terminate?: boolean;
  endpoint?: string;
  adminToken?: string;
}

/** One target's outcome: its last report, and the error that ended it, if any. */
interface TargetResult {
  readonly target: string;
  readonly report?: DrainReport;
  readonly error?: DrainError;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0) || n > MAX_DRAIN_TIMEOUT_SECONDS) throw new InvalidArgumentError(`must be a number of seconds above 0 and at most ${MAX_DRAIN_TIMEOUT_SECONDS}`);
  return n;
}

/** An http(s) URL for --endpoint; anything else is a usage error before any call. */
function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL, e.g. http://127.0.0.1:9901');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`must be an http:// or https:// URL (got ${url.protocol})`);
  return value;
}

const program = new Command('drain')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_CODES.USAGE))
  .description('Gracefully drain targets from every target group they serve: ECS DRAINING, deregister, wait until no request is in flight, then optionally stand by or terminate.')
  // Target ids are parsed after the options, so a malformed id has its own exit code (not USAGE).
  .option('--target <id>', 'instance id (i-…) or ip:port; repeatable', (v: string, p: string[]) => [...p, v], [])
  .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
  .option('--stack <name>', "only this CloudFormation stack's target groups")
  .option('--target-group <arn>', 'only this target group; repeatable', (v: string, p: string[]) => [...p, v], [])
  .option('--cluster <name>', 'ECS cluster: set the container instance DRAINING and wait for its tasks first')
  .option('--timeout <seconds>', 'give up after this long, AWS calls and their retries included (default: deregistration delay + 30 s)', seconds)
  .option('--poll-interval <seconds>', 'seconds between health polls (jittered ±1/3)', seconds, 1.5)
  .option('--dry-run', 'print the plan and change nothing')
  .option('--json', 'print the final report as JSON on stdout')
  .option('--standby', 'move the instance to Auto Scaling standby once drained')
  .option('--terminate', 'terminate the instance through Auto Scaling once drained')
  .option('--endpoint <url>', 'custom ELBv2 endpoint, e.g. the local proxy admin port http://127.0.0.1:9901 (its /targets also gives in-flight counts)', endpointUrl)
  .addOption(new Option('--admin-token <token>', "with --endpoint: the local proxy's --admin-token, when it has one").env('ALBATROSS_ADMIN_TOKEN'))
  .addHelpText(
    'after',
    `
Exit codes: 0 drained · 2 bad arguments · 3 unknown instance · 4 not in any target group · 5 no AWS credentials
            6 AWS error (permissions, unreachable, failed deregistration) · 7 timed out · 8 malformed target id
            9 throttled beyond retries · 130 interrupted. Several targets: the most severe outcome.
Examples:
  npm run drain -- --target i-0123456789abcdef0 --region eu-west-1 --stack Albatross --cluster <cluster> --terminate
  npm run drain -- --target i-0123456789abcdef0 --dry-run
  npm run drain -- --endpoint http://127.0.0.1:9901 --target 127.0.0.1:9001      # rehearse on the local proxy`,
  );

function usageError(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(EXIT_CODES.USAGE);
}

/** Checks the combination of options and parses the targets (a malformed id is INVALID_TARGET). */
function parseArguments(opts: DrainCliOptions): DrainTarget[] {
  if (opts.target.length === 0) usageError('--target is required (e.g. --target i-0123456789abcdef0)');
  if (opts.standby && opts.terminate) usageError('--standby and --terminate exclude each other');
  const targets = opts.target.map(parseDrainTarget);
  const after = opts.standby ? '--standby' : opts.terminate ? '--terminate' : undefined;
  // Both act through AWS Auto Scaling on an instance: with --endpoint or ip:port they would do nothing.
  if (after && opts.endpoint) usageError(`${after} needs AWS Auto Scaling: it cannot be used with --endpoint`);
  const ip = targets.find((t) => t.kind === 'ip');
  if (after && ip) usageError(`${after} needs an instance id: ${formatDrainTarget(ip)} is an ip:port target`);
  return targets;
}

/** Each request is bounded, by --timeout too: a silent endpoint cannot hang the CLI. */
function clientsFor(opts: DrainCliOptions): DrainClients {
  const requestTimeoutMs = opts.timeout !== undefined ? opts.timeout * 1000 : undefined;
  if (opts.endpoint) {
    // The local proxy does not check signatures; static placeholder keys keep the SDK from searching.
    const local = drainClientConfig({ endpoint: opts.endpoint, region: opts.region ?? 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, requestTimeoutMs });
    const elbv2 = new ElasticLoadBalancingV2Client(local);
    return { elbv2: opts.adminToken ? sendAdminToken(elbv2, opts.adminToken) : elbv2 };
  }
  const config = drainClientConfig({ region: opts.region, requestTimeoutMs });
  return { elbv2: new ElasticLoadBalancingV2Client(config), autoScaling: new AutoScalingClient(config), ecs: new ECSClient(config) };
}

/** The engine's retries, bounded by --timeout when given (from the start of the run). */
function retryPolicy(opts: DrainCliOptions, startedAt: number): RetryPolicy {
  return opts.timeout !== undefined ? { deadline: startedAt + opts.timeout * 1000 } : {};
}

const elapsed = (report: DrainReport) => `${((Date.now() - report.startedAt) / 1000).toFixed(1)}s`;

function progressLine(report: DrainReport): string {
  const groups = report.registrations.map((r) => `${r.targetGroupName}:${r.port} ${r.endedBy ? `done (${r.endedBy})` : r.error ? 'FAILED' : r.deregisteredAt !== undefined ? 'draining' : 'registered'}`);
  return `${report.target} ${report.state} ${elapsed(report)}${groups.length ? ` — ${groups.join(', ')}` : ''}`;
}

function summary(result: TargetResult, dryRun: boolean): string {
  const { report } = result;
  if (report === undefined) return `${result.target}: error: ${result.error?.message}`;
  const lines = [`${report.target}: ${dryRun ? 'plan' : report.state}${result.error ? ` (then error: ${result.error.message})` : ''}`];
  for (const r of report.registrations) {
    const detail = dryRun ? `would deregister (delay ${r.deregistrationDelaySeconds}s, now ${r.state})` : r.error ? `failed: ${r.error}` : `ended by ${r.endedBy ?? '—'} after ${((r.endedAfterMs ?? 0) / 1000).toFixed(1)}s`;
    lines.push(`  ${r.targetGroupName} ${r.id}:${r.port}  ${detail}`);
  }
  return lines.join('\n');
}

/** --standby / --terminate once drained, each call retried like the engine's (a fresh budget: the drain is done). */
async function afterDrain(clients: DrainClients, target: DrainTarget, opts: DrainCliOptions): Promise<void> {
  const autoScaling = clients.autoScaling;
  if (!(opts.standby || opts.terminate) || target.kind !== 'instance' || !autoScaling) return;
  const retry = retryPolicy(opts, Date.now());
  const described = await withRetry(() => autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [target.id] })), retry);
  const group = described.AutoScalingInstances?.[0]?.AutoScalingGroupName;
  if (!group) throw new DrainError('UNKNOWN_INSTANCE', `${target.id} is in no Auto Scaling group: cannot ${opts.standby ? 'enter standby' : 'terminate'}`);
  if (opts.standby) await withRetry(() => autoScaling.send(new EnterStandbyCommand({ AutoScalingGroupName: group, InstanceIds: [target.id], ShouldDecrementDesiredCapacity: true })), retry);
  else await withRetry(() => autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: target.id, ShouldDecrementDesiredCapacity: false })), retry);
}

function outcomeOf(result: TargetResult): DrainErrorCode | 'OK' {
  if (result.error) return result.error.code;
  if (result.report?.state === 'failed') return 'AWS_ERROR';
  if (result.report?.state === 'timed-out') return 'TIMEOUT';
  return 'OK';
}

/** The AWS CLI options that reach the same API as this run. */
function awsCliOptions(opts: DrainCliOptions): string {
  return `${opts.endpoint ? ` --endpoint-url ${opts.endpoint}` : ''}${opts.region ? ` --region ${opts.region}` : ''}`;
}

/** How to undo what a report says was done: re-register what was deregistered, reactivate ECS. */
function undoLines(report: DrainReport, opts: DrainCliOptions): string[] {
  const lines: string[] = [];
  // Sent counts too: a call interrupted before its answer may have deregistered the target.
  const deregistered = report.registrations.filter((r) => r.deregisterSent || r.deregisteredAt !== undefined);
  if (deregistered.length === 0) lines.push('    not deregistered from any target group yet');
  for (const r of deregistered) {
    lines.push(`    re-register: aws elbv2 register-targets${awsCliOptions(opts)} --target-group-arn ${r.targetGroupArn} --targets Id=${r.id},Port=${r.port}`);
  }
  if (report.ecs) {
    const by = report.ecs.setDrainingByThisRun ? 'set DRAINING by this run' : 'was already DRAINING';
    lines.push(`    ECS container instance ${by}; to serve again: aws ecs update-container-instances-state${awsCliOptions({ ...opts, endpoint: undefined })} --cluster ${report.ecs.cluster} --container-instances ${report.ecs.containerInstanceArn} --status ACTIVE`);
  }
  return lines;
}

/** On Ctrl-C: where each target is, and how to resume or undo. */
function interruptedMessage(targets: DrainTarget[], latest: Map<string, DrainReport>, opts: DrainCliOptions): string {
  const lines = ['interrupted. State of each target:'];
  for (const target of targets.map(formatDrainTarget)) {
    const report = latest.get(target);
    if (report === undefined) {
      lines.push(`  ${target} not started: nothing changed`);
      continue;
    }
    lines.push(`  ${progressLine(report)}`, ...undoLines(report, opts));
  }
  lines.push('  resume: run the same command again (draining is idempotent)');
  return lines.join('\n');
}

/** Drains one target and never throws: the error is part of the result, so other targets finish. */
async function drainOne(clients: DrainClients, target: DrainTarget, opts: DrainCliOptions, onProgress: (r: DrainReport) => void): Promise<TargetResult> {
  let report: DrainReport | undefined;
  try {
    report = await drainTarget(clients, target, {
      scope: { stackName: opts.stack, targetGroupArns: opts.targetGroup.length ? opts.targetGroup : undefined },
      cluster: opts.cluster,
      inFlight: opts.endpoint ? proxyAdminInFlight(opts.endpoint, fetch, opts.adminToken) : undefined,
      pollMs: opts.pollInterval * 1000,
      timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
      retry: retryPolicy(opts, Date.now()),
      dryRun: opts.dryRun,
      onProgress,
    });
    if (report.state === 'drained' && !opts.dryRun) await afterDrain(clients, target, opts);
    return { target: formatDrainTarget(target), report };
  } catch (error) {
    return { target: formatDrainTarget(target), report, error: toDrainError(error) };
  }
}

function printResults(results: TargetResult[], opts: DrainCliOptions): void {
  for (const r of results) if (r.error) process.stderr.write(`drain: ${r.error.message}\n`);
  if (opts.json) {
    const json = results.map((r) => (r.report && !r.error ? r.report : { ...r.report, target: r.target, state: r.report?.state ?? 'error', error: { code: r.error!.code, message: r.error!.message } }));
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const summaries = results.filter((r) => r.report !== undefined || results.length > 1).map((r) => summary(r, opts.dryRun ?? false));
  if (summaries.length) process.stdout.write(`${summaries.join('\n')}\n`);
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<DrainCliOptions>();
  const targets = parseArguments(opts);
  const clients = clientsFor(opts);
  const latest = new Map<string, DrainReport>();
  const tty = process.stderr.isTTY;
  process.once('SIGINT', () => {
    process.stderr.write(`\n${interruptedMessage(targets, latest, opts)}\n`);
    process.exit(EXIT_CODES.INTERRUPTED);
  });
  const onProgress = (r: DrainReport) => {
    latest.set(r.target, r);
    if (!opts.json && r.state !== 'planned') process.stderr.write(tty ? `\r\x1b[2K${progressLine(r)}` : `${progressLine(r)}\n`);
  };
  // drainOne never throws: one target's error cannot end the process while the others are half-drained.
  const results = await Promise.all(targets.map((target) => drainOne(clients, target, opts, onProgress)));
  if (tty && !opts.json) process.stderr.write('\n');
  printResults(results, opts);
  process.exitCode = EXIT_CODES[worstOutcome(results.map(outcomeOf))];
}

main().catch((error: unknown) => {
  const drainError = toDrainError(error);
  process.stderr.write(`drain: ${drainError.message}\n`);
  process.exit(EXIT_CODES[drainError.code]);
});
