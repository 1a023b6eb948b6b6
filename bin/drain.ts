#!/usr/bin/env node
/**
 * Drains targets from their load balancers before they stop:
 *   npm run drain -- --target i-0123456789abcdef0 --region eu-west-1 --stack Albatross
 */
import { AutoScalingClient, DescribeAutoScalingInstancesCommand, EnterStandbyCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Command, InvalidArgumentError } from 'commander';
import { DrainClients, DrainReport, drainTarget } from '../lib/drain/engine';
import { DrainError, EXIT_CODES, toDrainError } from '../lib/drain/errors';
import { proxyAdminInFlight } from '../lib/drain/signals';
import { DrainTarget, parseDrainTarget } from '../lib/drain/target-id';

interface DrainCliOptions {
  target: DrainTarget[];
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
}

function collectTarget(value: string, previous: DrainTarget[]): DrainTarget[] {
  try {
    return [...previous, parseDrainTarget(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0) || n > 48 * 3600) throw new InvalidArgumentError('must be a number of seconds above 0 and at most 172800');
  return n;
}

// The SDK warns on every run that future versions need Node 22; keep errors to one readable line.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning')) process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const program = new Command('drain')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_CODES.USAGE))
  .description('Gracefully drain targets from every target group they serve: ECS DRAINING, deregister, wait until no request is in flight, then optionally stand by or terminate.')
  .option('--target <id>', 'instance id (i-…) or ip:port; repeatable', collectTarget, [])
  .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
  .option('--stack <name>', "only this CloudFormation stack's target groups")
  .option('--target-group <arn>', 'only this target group; repeatable', (v: string, p: string[]) => [...p, v], [])
  .option('--cluster <name>', 'ECS cluster: set the container instance DRAINING and wait for its tasks first')
  .option('--timeout <seconds>', 'give up after this long (default: deregistration delay + 30 s)', seconds)
  .option('--poll-interval <seconds>', 'seconds between health polls', seconds, 1.5)
  .option('--dry-run', 'print the plan and change nothing')
  .option('--json', 'print the final report as JSON on stdout')
  .option('--standby', 'move the instance to Auto Scaling standby once drained')
  .option('--terminate', 'terminate the instance through Auto Scaling once drained')
  .option('--endpoint <url>', 'custom ELBv2 endpoint, e.g. the local proxy admin port http://127.0.0.1:9901 (its /targets also gives in-flight counts)')
  .addHelpText(
    'after',
    `
Exit codes: 0 drained · 2 bad arguments or target id · 3 unknown instance · 4 not in any target group
            5 no AWS credentials · 6 AWS error (throttling, permissions, partial failure) · 7 timed out · 130 interrupted
Examples:
  npm run drain -- --target i-0123456789abcdef0 --region eu-west-1 --stack Albatross --cluster <cluster> --terminate
  npm run drain -- --target i-0123456789abcdef0 --dry-run
  npm run drain -- --endpoint http://127.0.0.1:9901 --target 127.0.0.1:9001      # rehearse on the local proxy`,
  );

function clientsFor(opts: DrainCliOptions): DrainClients {
  if (opts.endpoint) {
    // The local proxy does not check signatures; static placeholder keys keep the SDK from searching.
    const local = { endpoint: opts.endpoint, region: opts.region ?? 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    return { elbv2: new ElasticLoadBalancingV2Client(local) };
  }
  const config = { region: opts.region, maxAttempts: 1 };
  return { elbv2: new ElasticLoadBalancingV2Client(config), autoScaling: new AutoScalingClient(config), ecs: new ECSClient(config) };
}

const elapsed = (report: DrainReport) => `${((Date.now() - report.startedAt) / 1000).toFixed(1)}s`;

function progressLine(report: DrainReport): string {
  const groups = report.registrations.map((r) => `${r.targetGroupName}:${r.port} ${r.endedBy ? `done (${r.endedBy})` : r.error ? 'FAILED' : 'draining'}`);
  return `${report.target} ${report.state} ${elapsed(report)}${groups.length ? ` — ${groups.join(', ')}` : ''}`;
}

function summary(report: DrainReport, dryRun: boolean): string {
  const lines = [`${report.target}: ${dryRun ? 'plan' : report.state}`];
  for (const r of report.registrations) {
    const detail = dryRun ? `would deregister (delay ${r.deregistrationDelaySeconds}s, now ${r.state})` : r.error ? `failed: ${r.error}` : `ended by ${r.endedBy ?? '—'} after ${((r.endedAfterMs ?? 0) / 1000).toFixed(1)}s`;
    lines.push(`  ${r.targetGroupName} ${r.id}:${r.port}  ${detail}`);
  }
  return lines.join('\n');
}

async function afterDrain(clients: DrainClients, target: DrainTarget, opts: DrainCliOptions): Promise<void> {
  if (!(opts.standby || opts.terminate) || target.kind !== 'instance' || !clients.autoScaling) return;
  const described = await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [target.id] }));
  const group = described.AutoScalingInstances?.[0]?.AutoScalingGroupName;
  if (!group) throw new DrainError('UNKNOWN_INSTANCE', `${target.id} is in no Auto Scaling group: cannot ${opts.standby ? 'enter standby' : 'terminate'}`);
  if (opts.standby) await clients.autoScaling.send(new EnterStandbyCommand({ AutoScalingGroupName: group, InstanceIds: [target.id], ShouldDecrementDesiredCapacity: true }));
  else await clients.autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: target.id, ShouldDecrementDesiredCapacity: false }));
}

function exitCodeOf(reports: DrainReport[]): number {
  if (reports.some((r) => r.state === 'failed')) return EXIT_CODES.AWS_ERROR;
  if (reports.some((r) => r.state === 'timed-out')) return EXIT_CODES.TIMEOUT;
  return EXIT_CODES.OK;
}

/** On Ctrl-C: where each target is, and how to resume or undo. */
function interruptedMessage(latest: Map<string, DrainReport>): string {
  const lines = ['interrupted. State of each target:'];
  for (const report of latest.values()) {
    lines.push(`  ${progressLine(report)}`);
    for (const r of report.registrations) {
      lines.push(`    re-register: aws elbv2 register-targets --target-group-arn ${r.targetGroupArn} --targets Id=${r.id},Port=${r.port}`);
    }
  }
  lines.push('  resume: run the same command again (draining is idempotent)');
  return lines.join('\n');
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<DrainCliOptions>();
  if (opts.target.length === 0) program.error('error: --target is required (e.g. --target i-0123456789abcdef0)', { exitCode: EXIT_CODES.USAGE });
  if (opts.standby && opts.terminate) program.error('error: --standby and --terminate exclude each other', { exitCode: EXIT_CODES.USAGE });
  const clients = clientsFor(opts);
  const latest = new Map<string, DrainReport>();
  const tty = process.stderr.isTTY;
  process.once('SIGINT', () => {
    process.stderr.write(`\n${interruptedMessage(latest)}\n`);
    process.exit(EXIT_CODES.INTERRUPTED);
  });
  const reports = await Promise.all(
    opts.target.map(async (target) => {
      const report = await drainTarget(clients, target, {
        scope: { stackName: opts.stack, targetGroupArns: opts.targetGroup.length ? opts.targetGroup : undefined },
        cluster: opts.cluster,
        inFlight: opts.endpoint ? proxyAdminInFlight(opts.endpoint) : undefined,
        pollMs: opts.pollInterval * 1000,
        timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
        dryRun: opts.dryRun,
        onProgress: (r) => {
          latest.set(r.target, r);
          if (!opts.json && r.state !== 'planned') process.stderr.write(tty ? `\r\x1b[2K${progressLine(r)}` : `${progressLine(r)}\n`);
        },
      });
      if (report.state === 'drained' && !opts.dryRun) await afterDrain(clients, target, opts);
      return report;
    }),
  );
  if (tty && !opts.json) process.stderr.write('\n');
  process.stdout.write(opts.json ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map((r) => summary(r, opts.dryRun ?? false)).join('\n')}\n`);
  process.exitCode = exitCodeOf(reports);
}

main().catch((error: unknown) => {
  const drainError = toDrainError(error);
  process.stderr.write(`drain: ${drainError.message}\n`);
  process.exit(EXIT_CODES[drainError.code]);
});
