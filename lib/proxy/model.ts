/**
 * The load balancer as the local proxy understands it: read from the synthesized CloudFormation
 * template (never written by hand), so what runs locally is what deploys.
 *
 * This file is the contract between the proxy's data plane (template reading, rules, target
 * groups, health checks, algorithms) and its network layer (listeners, forwarding, admin API).
 */

import type { RoutingAlgorithm } from '../alb/routing-algorithms';
import type { AlbDesyncMitigationMode } from '../alb/load-balancer-attributes';
import type { HostPort } from '../alb/target-id';
import type { WebAclModel } from './waf/model';

// The admin API's report is shared with the drain: defined in lib/alb, named here for the proxy.
export type { TargetReason, TargetState, TargetStatus, TargetsReport } from '../alb/targets-report';

export interface HealthCheckModel {
  readonly enabled: boolean;
  readonly path: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Matcher as in the template: `200`, `200,204`, `200-299`. */
  readonly matcher: string;
  /** HealthCheckProtocol when the template sets it; absent: the target group's protocol. */
  readonly protocol?: 'HTTP' | 'HTTPS';
  /** HealthCheckPort when it is a number; absent: `traffic-port` (the target's own port). */
  readonly port?: number;
}

export interface StickinessModel {
  readonly enabled: boolean;
  readonly type: 'lb_cookie' | 'app_cookie';
  readonly durationSeconds: number;
  /** For app_cookie only. */
  readonly appCookieName?: string;
}

export interface TargetGroupModel {
  /** CloudFormation logical id. */
  readonly logicalId: string;
  /** Short name: the `albatross:target-group` tag, else the logical id. Used by `--targets`. */
  readonly name: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly port: number;
  readonly healthCheck: HealthCheckModel;
  readonly deregistrationDelaySeconds: number;
  readonly slowStartSeconds: number;
  readonly algorithm: RoutingAlgorithm;
  readonly anomalyMitigation: boolean;
  readonly stickiness: StickinessModel;
}

export type ConditionModel =
  | { readonly field: 'path-pattern'; readonly values: string[] }
  | { readonly field: 'host-header'; readonly values: string[] }
  | { readonly field: 'http-header'; readonly headerName: string; readonly values: string[] }
  | { readonly field: 'http-request-method'; readonly values: string[] }
  | { readonly field: 'query-string'; readonly values: { readonly key?: string; readonly value: string }[] }
  | { readonly field: 'source-ip'; readonly values: string[] };

export interface WeightedTargetGroup {
  /** Logical id of the target group. */
  readonly targetGroup: string;
  readonly weight: number;
}

export type ActionModel =
  | {
      readonly type: 'forward';
      readonly targetGroups: WeightedTargetGroup[];
      /** Target-group-level stickiness of a weighted forward, in seconds; absent when off. */
      readonly groupStickinessSeconds?: number;
    }
  | {
      readonly type: 'redirect';
      /** Each may hold #{protocol} #{host} #{port} #{path} #{query} placeholders. */
      readonly protocol: string;
      readonly host: string;
      readonly port: string;
      readonly path: string;
      readonly query: string;
      readonly statusCode: 301 | 302;
    }
  | {
      readonly type: 'fixed-response';
      readonly statusCode: number;
      readonly contentType?: string;
      readonly body?: string;
    };

export interface RuleModel {
  readonly logicalId: string;
  readonly priority: number;
  /** All must match (AND); values within one condition are ORed. */
  readonly conditions: ConditionModel[];
  readonly action: ActionModel;
}

export interface ListenerModel {
  readonly logicalId: string;
  /** Port in the template (80, 443); the proxy maps it to a local port. */
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly defaultAction: ActionModel;
  /** Sorted by ascending priority. */
  readonly rules: RuleModel[];
  /** Headers to add to every response, from the listener attributes (HSTS, CSP, …). */
  readonly responseHeaders: Record<string, string>;
  /** `routing.http.response.server.enabled` is false: strip `Server`. */
  readonly removeServerHeader: boolean;
  /** HTTPS listeners: the template's SslPolicy (absent: the template sets none). */
  readonly sslPolicy?: string;
}

export interface LoadBalancerModel {
  readonly logicalId: string;
  readonly idleTimeoutSeconds: number;
  readonly dropInvalidHeaderFields: boolean;
  readonly desyncMitigationMode: AlbDesyncMitigationMode;
  readonly http2Enabled: boolean;
  readonly listeners: ListenerModel[];
  /** By logical id. */
  readonly targetGroups: Record<string, TargetGroupModel>;
  /** The web ACL associated with the load balancer (lib/proxy/waf/); absent: none, or not read. */
  readonly webAcl?: WebAclModel;
}

/** A local backend: `host:port`. Its id in the admin API and metrics is `host:port` (lib/alb/target-id.ts). */
export type TargetAddress = HostPort;
