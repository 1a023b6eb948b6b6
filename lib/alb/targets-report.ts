/**
 * The local proxy's targets report: the JSON its admin API answers `GET /targets` with. The proxy
 * writes it, the drain's in-flight signal and the conformance suite read it.
 */

/** Where the admin API serves the report. */
export const TARGETS_REPORT_PATH = '/targets';

/** Target states, as DescribeTargetHealth names them (docs/alb-behaviour.md §7). */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused' | 'unavailable';

/** Reason codes, as DescribeTargetHealth names them. */
export type TargetReason =
  | 'Elb.RegistrationInProgress'
  | 'Elb.InitialHealthChecking'
  | 'Target.ResponseCodeMismatch'
  | 'Target.Timeout'
  | 'Target.FailedHealthChecks'
  | 'Target.NotRegistered'
  | 'Target.DeregistrationInProgress'
  | 'Target.HealthCheckDisabled';

/** One target as the report lists it. */
export interface TargetStatus {
  /** `host:port`, IPv6 in brackets (lib/alb/target-id.ts). */
  readonly id: string;
  readonly state: TargetState;
  readonly reason?: TargetReason;
  /** Requests forwarded to the target and not yet finished: the early-finish signal for drains. */
  readonly inFlight: number;
}

/** The whole report: every target group of the load balancer and its targets. */
export interface TargetsReport {
  readonly targetGroups: {
    /** The group's short name (lib/alb/tags.ts), else its logical id. */
    readonly name: string;
    readonly logicalId: string;
    readonly deregistrationDelaySeconds: number;
    readonly targets: TargetStatus[];
  }[];
}
