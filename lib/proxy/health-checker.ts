/**
 * Health checks as the ALB runs them: an HTTP GET of the configured path on the target's own port
 * (or the template's HealthCheckPort),
 * a new connection each time, `User-Agent: ELB-HealthChecker/2.0`, success when the status code
 * is in the matcher, failure on a wrong code, a timeout or a connection error.
 */
import { Agent, request } from 'undici';
import { formatTargetId } from '../alb/target-id';
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

/**
 * The checks' client. undici, not node:http: node:http's client builds its responses from the
 * classes the proxy's server builds its requests from (IncomingMessage, OutgoingMessage), and
 * using both sides in one process made every forwarded request slower (3-7 % more CPU per
 * request for the floor proxy of bench/proxy-bench.ts with such checks alongside, none with
 * undici's). Targets' certificates are not verified by the ALB either; `Connection: close`
 * gives each check its own connection, as the ALB opens one per check.
 */
const CHECK_CLIENT = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });
const CHECK_HEADERS = { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' };

/** One health check of one target. Never rejects. */
export function checkOnce(target: TargetAddress, schedule: HealthCheckSchedule): Promise<HealthOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const cancel = new AbortController();
    const finish = (outcome: HealthOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const origin = `${schedule.protocol === 'HTTPS' ? 'https' : 'http'}://${formatTargetId({ host: target.host, port: schedule.port ?? target.port })}`;
    request(`${origin}${schedule.path}`, { method: 'GET', dispatcher: CHECK_CLIENT, headers: CHECK_HEADERS, signal: cancel.signal }).then(
      (response) => {
        const code = response.statusCode;
        response.body.dump().catch(() => undefined);
        finish(schedule.matcher(code) ? { healthy: true, statusCode: code } : { healthy: false, reason: 'Target.ResponseCodeMismatch', statusCode: code });
      },
      (error: NodeJS.ErrnoException) => finish({ healthy: false, reason: 'Target.FailedHealthChecks', detail: error.code ?? error.message }),
    );
    const timer = setTimeout(() => {
      finish({ healthy: false, reason: 'Target.Timeout' });
      cancel.abort();
    }, schedule.timeoutMs);
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
