/**
 * The seam between the proxy's data plane (rules, target groups, health, algorithms — implemented
 * in lib/proxy/ by the data-plane modules) and its network layer (listeners, forwarding, admin).
 * The network layer depends only on these interfaces.
 */
import { IncomingHttpHeaders } from 'node:http';
import { ActionModel, ListenerModel, LoadBalancerModel, TargetAddress, TargetGroupModel, TargetStatus, TargetsReport } from './model';

/** A registration change made at run time (admin API or ELBv2 API); cluster mode relays it to every worker. */
export interface TargetChange {
  readonly op: 'register' | 'deregister';
  readonly targetGroup: string;
  readonly target: string;
}

/** What a listener rule may look at. */
export interface RequestFacts {
  readonly method: string;
  /** Path only, no query string, not decoded. */
  readonly path: string;
  /** Raw query string without the leading `?` ('' when none). */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  /** Client address (IPv4 or IPv6, no port). */
  readonly sourceIp: string;
}

/** Chooses the action of a listener for a request: first matching rule by priority, else default. */
export type EvaluateListener = (listener: ListenerModel, request: RequestFacts) => ActionModel;

/** A target chosen for one request. The caller MUST call `release` exactly once when the request ends. */
export interface TargetLease {
  readonly target: TargetAddress;
  /** `host:port` */
  readonly targetId: string;
  /** A `Set-Cookie` value to add to the response (stickiness), when the group is sticky. */
  readonly setCookie?: string;
  /**
   * Every `Set-Cookie` value to add (stickiness: `AWSALB` and `AWSALBCORS`); when present it
   * includes `setCookie`. Added after the first version of this contract: prefer it when set.
   */
  readonly setCookies?: readonly string[];
  /** Ends the request: in-flight count goes down; `failed` feeds anomaly mitigation and metrics. */
  release(outcome: { readonly failed: boolean }): void;
}

/** Why no target could be chosen. */
export type NoTarget = { readonly reason: 'no-registered-targets' };

/** One target group at run time: its targets, their health and the routing algorithm. */
export interface TargetGroupRuntime {
  readonly model: TargetGroupModel;
  /** Adds a target; it starts `initial` and gets traffic after `healthyThreshold` passing checks. */
  register(target: TargetAddress): void;
  /**
   * Starts draining: no new requests; resolves when the target has no request in flight
   * (`idle`, early finish) or when the deregistration delay expires (`timeout`). The target is then
   * removed; its reported state stays `draining` until the delay ends, as on the real ALB.
   */
  deregister(targetId: string): Promise<'idle' | 'timeout' | 'not-registered'>;
  /**
   * Picks a target for a request (healthy targets; all registered when none is healthy — fail
   * open). `cookies` are the request's cookies, for stickiness.
   */
  acquire(cookies: Readonly<Record<string, string>>): TargetLease | NoTarget;
  status(): TargetStatus[];
}

/** The whole data plane, built from the model and the local backends. */
export interface LoadBalancerRuntime {
  readonly model: LoadBalancerModel;
  /** By logical id or by short name. */
  targetGroup(idOrName: string): TargetGroupRuntime | undefined;
  report(): TargetsReport;
  /** Starts health checks. */
  start(): void;
  /** Stops health checks and timers. */
  stop(): Promise<void>;
}
