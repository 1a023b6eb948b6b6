/**
 * Health checks as the ALB runs them: an HTTP GET of the configured path on the target's own port
 * (or the template's HealthCheckPort),
 * a new connection each time, `User-Agent: ELB-HealthChecker/2.0`, success when the status code
 * is in the matcher, failure on a wrong code, a timeout or a connection error.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { TargetAddress, TargetReason } from './model';

export type HealthOutcome =
  | { readonly healthy: true; readonly statusCode: number }
  | { readonly healthy: false; readonly reason: TargetReason; readonly statusCode?: number; readonly detail?: string };

export interface HealthCheckSchedule {
  readonly protocol: 'HTTP' | 'HTTPS';
  /** HealthCheckPort; absent: the target's own (traffic) port. */
  readonly port?: number;
  readonly path: string;
  /** Between the starts of two checks of one target. */
  readonly intervalMs: number;
  /** A check without a response status by then fails with `Target.Timeout`. */
  readonly timeoutMs: number;
  readonly matcher: (statusCode: number) => boolean;
}

/** Compiles an ALB matcher (`200`, `200,204`, `200-299`, `200-299,404`) to a predicate. */
export function parseMatcher(matcher: string): (statusCode: number) => boolean {
  const ranges = matcher.split(',').map((part) => {
    const m = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (!m) throw new Error(`invalid health check matcher ${JSON.stringify(matcher)}: expected codes like 200, 200,204 or 200-299`);
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    if (high < low) throw new Error(`invalid health check matcher ${JSON.stringify(matcher)}: range ${part} is reversed`);
    return [low, high] as const;
  });
  return (code) => ranges.some(([low, high]) => code >= low && code <= high);
}

/** One health check of one target. Never rejects. */
export function checkOnce(target: TargetAddress, schedule: HealthCheckSchedule): Promise<HealthOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: HealthOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const client = schedule.protocol === 'HTTPS' ? https : http;
    const request = client.request(
      {
        host: target.host,
        port: schedule.port ?? target.port,
        path: schedule.path,
        method: 'GET',
        agent: false,
        // Targets' certificates are not verified by the ALB either.
        rejectUnauthorized: false,
        headers: { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' },
      },
      (response) => {
        const code = response.statusCode ?? 0;
        response.on('error', () => undefined);
        response.resume();
        finish(schedule.matcher(code) ? { healthy: true, statusCode: code } : { healthy: false, reason: 'Target.ResponseCodeMismatch', statusCode: code });
      },
    );
    const timer = setTimeout(() => {
      finish({ healthy: false, reason: 'Target.Timeout' });
      request.destroy();
    }, schedule.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ healthy: false, reason: 'Target.FailedHealthChecks', detail: error.code ?? error.message }));
    request.end();
  });
}

/** Runs the periodic checks of a set of targets; the first check starts at once. */
export class HealthChecker {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly schedule: HealthCheckSchedule,
    private readonly onResult: (targetId: string, outcome: HealthOutcome) => void,
  ) {}

  watch(targetId: string, target: TargetAddress): void {
    if (this.timers.has(targetId)) return;
    const run = (): void => {
      // Start-to-start cadence: the next check is scheduled before this one answers.
      this.timers.set(targetId, setTimeout(run, this.schedule.intervalMs));
      void checkOnce(target, this.schedule).then((outcome) => {
        if (this.timers.has(targetId)) this.onResult(targetId, outcome);
      });
    };
    run();
  }

  unwatch(targetId: string): void {
    clearTimeout(this.timers.get(targetId));
    this.timers.delete(targetId);
  }

  stop(): void {
    for (const id of [...this.timers.keys()]) this.unwatch(id);
  }
}
