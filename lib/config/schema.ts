/**
 * The one typed configuration of an Albatross deployment.
 *
 * Every setting the cloud stack and the local proxy share is defined here once. The stack turns it
 * into CloudFormation; the local proxy reads that CloudFormation back, so no value is copied twice.
 */

import { ROUTING_ALGORITHMS, type RoutingAlgorithm } from '../alb/routing-algorithms';
import { RATE_LIMIT_WINDOWS_SECONDS } from '../../constructs/rate-limited-web-acl';

export { ROUTING_ALGORITHMS, type RoutingAlgorithm };

/** Desync mitigation modes we allow: `monitor` is left out on purpose (it blocks nothing). */
export const DESYNC_MITIGATION_MODES = ['defensive', 'strictest'] as const;
export type DesyncMitigationMode = (typeof DESYNC_MITIGATION_MODES)[number];

/** Content types an ALB fixed-response action accepts. */
export const FIXED_RESPONSE_CONTENT_TYPES = ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'] as const;
export type FixedResponseContentType = (typeof FIXED_RESPONSE_CONTENT_TYPES)[number];

/** `X-Frame-Options` values the ALB listener attribute accepts (ALLOW-FROM is obsolete). */
export const FRAME_OPTIONS = ['DENY', 'SAMEORIGIN'] as const;
export type FrameOptions = (typeof FRAME_OPTIONS)[number];

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Where the stack deploys. Fixed values keep `cdk synth` free of lookups and credentials. */
export interface EnvironmentConfig {
  /** AWS account id (12 digits). @default '123456789012' (a placeholder: set yours to deploy) */
  readonly account: string;
  /** AWS region. @default 'eu-west-1' */
  readonly region: string;
  /**
   * Availability zones to spread the VPC and the load balancer over, given explicitly so that synth
   * never asks EC2 for them. At least two.
   * @default ['eu-west-1a', 'eu-west-1b']
   */
  readonly availabilityZones: string[];
}

/** Response headers the HTTPS listener injects (ALB listener attributes). */
export interface SecurityHeadersConfig {
  /** `Strict-Transport-Security` value. @default 'max-age=31536000; includeSubDomains; preload' */
  readonly strictTransportSecurity: string;
  /** `X-Content-Type-Options` value (only `nosniff` is valid). @default 'nosniff' */
  readonly contentTypeOptions: 'nosniff';
  /** `X-Frame-Options` value. @default 'DENY' */
  readonly frameOptions: FrameOptions;
  /** `Content-Security-Policy` value. @default "default-src 'self'; frame-ancestors 'none'" */
  readonly contentSecurityPolicy: string;
  /** Remove the `Server: awselb/2.0` header. @default true */
  readonly removeServerHeader: boolean;
}

/** The Application Load Balancer and its listeners. */
export interface LoadBalancerConfig {
  /** Protect the load balancer from deletion. @default true */
  readonly deletionProtection: boolean;
  /** Connection idle timeout in seconds, 1–4000. @default 60 */
  readonly idleTimeoutSeconds: number;
  /**
   * TLS policy of the HTTPS listener: an `ELBSecurityPolicy-TLS13-1-2-*` or `-TLS13-1-3-*` policy
   * (TLS 1.3 offered, nothing older than TLS 1.2 accepted).
   * @default 'ELBSecurityPolicy-TLS13-1-2-2021-06'
   */
  readonly tlsPolicy: string;
  /** How the load balancer treats requests that may cause HTTP desync. @default 'defensive' */
  readonly desyncMitigationMode: DesyncMitigationMode;
  /** HTTPS listener port. @default 443 */
  readonly httpsPort: number;
  /** HTTP listener port (it only redirects to HTTPS). @default 80 */
  readonly httpPort: number;
  /** Days to keep access logs in S3, 1–3650. @default 90 */
  readonly accessLogRetentionDays: number;
  /**
   * Response headers injected by the HTTPS listener.
   * @default - HSTS one year with preload, `nosniff`, `DENY`, a same-origin CSP, no `Server` header
   */
  readonly securityHeaders: SecurityHeadersConfig;
}

/** Health check of a target group (ALB semantics). */
export interface HealthCheckConfig {
  /** Path requested by the health check. @default '/health' */
  readonly path: string;
  /** Seconds between checks, 5–300. @default 30 */
  readonly intervalSeconds: number;
  /** Seconds before a check fails, 2–120 and below the interval. @default 5 */
  readonly timeoutSeconds: number;
  /** Consecutive successes before a target is healthy, 2–10. @default 2 */
  readonly healthyThreshold: number;
  /** Consecutive failures before a target is unhealthy, 2–10. @default 2 */
  readonly unhealthyThreshold: number;
  /** HTTP codes counted as success: `200`, `200,204` or `200-299`. @default '200' */
  readonly matcher: string;
}

/** A target group of the service. */
export interface TargetGroupConfig {
  /**
   * Health check settings.
   * @default - `GET /health` every 30 s, timeout 5 s, 2 to become healthy, 2 to become unhealthy, 200
   */
  readonly healthCheck: HealthCheckConfig;
  /** Seconds a deregistering target drains, 0–3600. Keep it near your longest request. @default 30 */
  readonly deregistrationDelaySeconds: number;
  /** Linear ramp-up of a new target's share, 0 (off) or 30–900 seconds. @default 0 */
  readonly slowStartSeconds: number;
  /** How requests are spread over targets. @default 'round_robin' */
  readonly algorithm: RoutingAlgorithm;
  /** Lower the weight of anomalous targets (weighted_random only). @default false */
  readonly anomalyMitigation: boolean;
  /** lb_cookie stickiness duration in seconds (1–604800); absent means no stickiness. @default - none */
  readonly stickinessSeconds?: number;
}

/** The action of a listener rule: forward to a named target group, or answer directly. */
export type RuleAction =
  | { readonly forward: string }
  | {
      readonly fixedResponse: {
        readonly statusCode: number;
        readonly contentType: FixedResponseContentType;
        readonly body: string;
      };
    };

/** A path-based listener rule of the HTTPS listener. */
export interface ListenerRuleConfig {
  /** Rule priority, 1–50000, unique. Lower is evaluated first. */
  readonly priority: number;
  /** Path patterns (case-sensitive, `*` and `?` wildcards), ORed. At least one. */
  readonly pathPatterns: string[];
  /** What the rule does when it matches. */
  readonly action: RuleAction;
}

/** The container service on ECS-on-EC2. */
export interface ServiceConfig {
  /**
   * Container image of the application. It must answer the target groups' health check path.
   * The default is a tiny public echo server that answers `/health` with 200 on port 80, so a
   * first deploy comes up healthy before you bring your own image.
   * @default 'traefik/whoami:v1.11.0'
   */
  readonly image: string;
  /** Port the container listens on (mapped to a dynamic host port), 1–65535. @default 80 */
  readonly containerPort: number;
  /** Memory reservation of the container in MiB. @default 256 */
  readonly memoryReservationMiB: number;
  /** CPU units of the container (1024 = one vCPU). @default 256 */
  readonly cpu: number;
  /** Tasks to run at deploy time and the floor of task scaling, at least 1. @default 2 */
  readonly desiredCount: number;
  /** Ceiling of task scaling, at least desiredCount. @default 20 */
  readonly maxCount: number;
  /** Name of the target group the listener forwards to when no rule matches. @default 'app' */
  readonly defaultTargetGroup: string;
  /**
   * Seconds ECS ignores failing load balancer health checks of a new task, 0–7200. Cover the
   * app's start-up plus `healthyThreshold × intervalSeconds`.
   * @default 60
   */
  readonly healthCheckGracePeriodSeconds: number;
  /**
   * Days to keep the container logs in CloudWatch Logs (a value CloudWatch accepts: 1, 3, 5, 7,
   * 14, 30, 60, 90, …).
   * @default 30
   */
  readonly logRetentionDays: number;
}

/** The EC2 Auto Scaling group that gives ECS its capacity. */
export interface CapacityConfig {
  /** EC2 instance type. @default 't3.small' */
  readonly instanceType: string;
  /** Minimum instances, at least 2 (one per AZ). @default 2 */
  readonly minCapacity: number;
  /** Maximum instances. @default 10 */
  readonly maxCapacity: number;
  /** Desired instances, between min and max. @default 2 */
  readonly desiredCapacity: number;
  /** Seconds before ELB health checks count on a new instance, 0–7200. @default 300 */
  readonly healthCheckGracePeriodSeconds: number;
  /**
   * Heartbeat timeout of the terminate lifecycle hook, 90–7200 seconds (AWS allows 30, but each
   * drain Lambda run, at least 60 s, must end inside one heartbeat).
   * @default 300
   */
  readonly lifecycleHeartbeatSeconds: number;
}

/** Scaling policies of the service. */
export interface ScalingConfig {
  /** Target average CPU utilisation in percent, 1–100. @default 70 */
  readonly cpuTargetPercent: number;
  /** Target ALB requests per target per minute, at least 1. @default 1000 */
  readonly requestsPerTarget: number;
  /** Seconds to wait after scaling in. @default 300 */
  readonly scaleInCooldownSeconds: number;
  /** Seconds to wait after scaling out. @default 60 */
  readonly scaleOutCooldownSeconds: number;
}

/** Evaluation windows a WAF rate-based rule accepts, in seconds: the WAF construct's list. */
export { RATE_LIMIT_WINDOWS_SECONDS };
export type RateLimitWindowSeconds = (typeof RATE_LIMIT_WINDOWS_SECONDS)[number];

/** A per-client-IP request limit over a sliding window (a WAF rate-based rule). */
export interface RateLimitConfig {
  /** Requests per client IP in one window, 10–2000000000 (WAF's lowest limit is 10). */
  readonly limit: number;
  /** Length of the window WAF counts over, in seconds: 60, 120, 300 or 600. */
  readonly windowSeconds: RateLimitWindowSeconds;
}

/** A rate limit on the requests whose path starts with a prefix. */
export interface PathRateLimitConfig extends RateLimitConfig {
  /** Name of the rule (`RateLimit-<name>`) and of its metric; letters, digits, `-` and `_`, unique. */
  readonly name: string;
  /** Path prefix the limit applies to, after URL decoding and path normalization (`//a/./b` is `/a/b`). */
  readonly pathPrefix: string;
}

/** The WAF web ACL in front of the load balancer. */
export interface WafConfig {
  /**
   * Largest request body, in bytes, a request may declare in `Content-Length`; larger declared
   * bodies are blocked with 403. WAF sees at most the first 8 KB of a body on an ALB and nothing of
   * a body sent without `Content-Length` (chunked): the application must enforce the limit too.
   * 0 to 2^53 − 1.
   * @default 5242880 (5 MiB)
   */
  readonly maxBodyBytes: number;
  /**
   * The limit on all requests of one client IP, whatever the path. Its rate (limit / window) must
   * be at least that of every per-path limit, or the per-path limit could never be reached.
   * @default - 1200 per 60 s (20 requests/s)
   */
  readonly generalRateLimit: RateLimitConfig;
  /**
   * Stricter limits per path prefix; a request counts against every limit whose prefix it matches.
   * At most 10.
   * @default - api: `/api/` 600 per 60 s (10/s); auth: `/auth/` 50 per 600 s (5/min); upload:
   * `/upload/` 20 per 600 s (2/min)
   */
  readonly rateLimits: PathRateLimitConfig[];
}

/** CloudWatch alarm thresholds. */
export interface AlarmsConfig {
  /** Target 5xx responses as a percentage of the requests routed to targets, above 0 and at most 100. @default 1 */
  readonly target5xxRatePercent: number;
  /** p95 target response time in milliseconds, 1–60000. @default 500 */
  readonly p95LatencyMs: number;
  /** Period of the alarms and of the dashboard's graphs, 60 or a multiple of 60 seconds. @default 60 */
  readonly periodSeconds: number;
  /**
   * Periods an alarm looks back over, 1–1440; `evaluationPeriods × periodSeconds` is at most one
   * day (a CloudWatch limit).
   * @default 3
   */
  readonly evaluationPeriods: number;
  /** Breaching periods among them that raise the alarm, 1–evaluationPeriods. @default 2 */
  readonly datapointsToAlarm: number;
  /**
   * 5xx responses the load balancer generated itself (502, 503, 504, …) as a percentage of all
   * requests, above 0 and at most 100.
   * @default 1
   */
  readonly elb5xxRatePercent: number;
  /**
   * Roll an ECS deploy back when it raises the target or load-balancer 5xx-rate or the p95 latency
   * alarm (ECS deployment alarms). A fix deployed while one of them is already in alarm can be
   * rolled back too: deploy it with this set to false.
   * @default true
   */
  readonly rollbackOnAlarm: boolean;
  /**
   * An e-mail address subscribed to the alarm topic (AWS asks it to confirm first).
   * @default - no subscription: subscribe your pager or chat to the topic yourself
   */
  readonly email?: string;
}

/** The VPC. */
export interface NetworkConfig {
  /** Days to keep the VPC flow logs of rejected traffic (a value CloudWatch Logs accepts). @default 30 */
  readonly flowLogRetentionDays: number;
}

/** A DNS name for the service in a Route 53 public hosted zone of the account. */
export interface DomainConfig {
  /** The service's DNS name, e.g. `app.example.com`: the certificate's name and the A/AAAA alias records. */
  readonly name: string;
  /** ID of the hosted zone the name is in, e.g. `Z0123456789ABCDEFGHIJ` (no lookup at synth). */
  readonly hostedZoneId: string;
  /** Name of that hosted zone, e.g. `example.com`; `name` must be it or a name below it. */
  readonly hostedZoneName: string;
}

/** Everything that describes one deployment. */
export interface AlbatrossConfig {
  /** CloudFormation stack name. @default 'Albatross' */
  readonly stackName: string;
  /** Account, region and AZs. */
  readonly env: EnvironmentConfig;
  /**
   * ARN of an existing ACM certificate for the HTTPS listener, in the stack's own account and
   * region. Exactly one of `certificateArn` and `domain` is required; `cdk.json` holds a placeholder
   * in the default account so that synth works as is (remove it when you set `domain`).
   * @default - none
   */
  readonly certificateArn?: string;
  /**
   * A DNS name for the service: the stack requests a DNS-validated ACM certificate for it and
   * points A and AAAA alias records at the load balancer. Exactly one of `certificateArn` and
   * `domain` is required.
   * @default - none
   */
  readonly domain?: DomainConfig;
  /** The VPC. */
  readonly network: NetworkConfig;
  /** Load balancer and listeners. */
  readonly loadBalancer: LoadBalancerConfig;
  /**
   * Target groups by name (at most 9: the 5xx-rate alarm sums their request counts in one metric
   * math expression of at most 10 metrics); the name is used in rules and in the local proxy's
   * `--targets`.
   * @default - `app` (round robin), `api` (least outstanding requests), `static` (sticky for a day)
   */
  readonly targetGroups: Record<string, TargetGroupConfig>;
  /**
   * Path-based rules of the HTTPS listener.
   * @default - `/api/*` → api (10), `/static/*` → static (20), `/maintenance` → fixed 503 JSON (30)
   */
  readonly rules: ListenerRuleConfig[];
  /** The ECS service. */
  readonly service: ServiceConfig;
  /** The Auto Scaling group. */
  readonly capacity: CapacityConfig;
  /** Scaling policies. */
  readonly scaling: ScalingConfig;
  /** WAF request-body and rate limits. */
  readonly waf: WafConfig;
  /** Alarm thresholds. */
  readonly alarms: AlarmsConfig;
}

/** A partial config as written in cdk.json context or a config file: any field may be left out. */
export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
