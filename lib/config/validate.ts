import { SslPolicy } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import {
  AlbatrossConfig,
  DESYNC_MITIGATION_MODES,
  FIXED_RESPONSE_CONTENT_TYPES,
  FRAME_OPTIONS,
  HealthCheckConfig,
  ListenerRuleConfig,
  LOG_RETENTION_DAYS,
  RATE_LIMIT_WINDOWS_SECONDS,
  RateLimitConfig,
  ROUTING_ALGORITHMS,
  TargetGroupConfig,
} from './schema';
import { greaterThanPattern, WAF_REGEX_MAX_LENGTH } from '../waf/content-length';
import { MAX_TARGET_GROUPS } from '../../constructs/service-alarms';

/** Thrown when the configuration is invalid; the message lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Albatross configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Modern policies only: TLS 1.3 offered and TLS 1.2 as the floor. `TLS13-1-0-*` and `TLS13-1-1-*`
 * also offer TLS 1.3 but still accept TLS 1.0/1.1, so they are left out.
 */
export const MODERN_TLS_POLICIES: string[] = Object.values(SslPolicy).filter((policy) => /^ELBSecurityPolicy-TLS13-1-[23]-/.test(policy));
/** Days the access log bucket keeps objects: at least a day, at most ten years. */
export const ACCESS_LOG_RETENTION_DAYS_RANGE = { min: 1, max: 3650 } as const;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;
/** The alarms' limit (CloudWatch alarms combine at most 10 metrics), defined by the alarms construct. */
export { MAX_TARGET_GROUPS };
/** CloudWatch: evaluationPeriods × period must not exceed one day. */
const MAX_ALARM_WINDOW_SECONDS = 86_400;
const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;
const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+?*&(),!=;%]+$/;
const FIXED_RESPONSE_BODY_MAX_BYTES = 1024;
const TARGET_GROUP_NAME = /^[a-z][a-z0-9-]{0,20}$/;

/** Collects problems as the validators walk the config, so one synth reports all of them. */
class Problems {
  readonly list: string[] = [];

  add(field: string, message: string): void {
    this.list.push(`${field} ${message}`);
  }

  integerInRange(field: string, value: unknown, min: number, max: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.add(field, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
  }

  oneOf<T>(field: string, value: unknown, allowed: readonly T[]): void {
    if (!allowed.includes(value as T)) {
      this.add(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(value)})`);
    }
  }

  matches(field: string, value: unknown, pattern: RegExp, expected: string): void {
    if (typeof value !== 'string' || !pattern.test(value)) {
      this.add(field, `must be ${expected} (got ${JSON.stringify(value)})`);
    }
  }

  boolean(field: string, value: unknown): void {
    if (typeof value !== 'boolean') this.add(field, `must be true or false (got ${JSON.stringify(value)})`);
  }
}

/**
 * Checks a complete configuration against the ranges AWS accepts and the rules of this project.
 * Throws a {@link ConfigError} naming each bad field and its allowed range.
 */
export function validateConfig(config: AlbatrossConfig): AlbatrossConfig {
  const p = new Problems();
  validateEnvironment(p, config);
  p.oneOf('network.flowLogRetentionDays', config.network.flowLogRetentionDays, LOG_RETENTION_DAYS);
  validateLoadBalancer(p, config);
  const groupCount = Object.keys(config.targetGroups).length;
  if (groupCount < 1 || groupCount > MAX_TARGET_GROUPS) {
    p.add('targetGroups', `must define 1 to ${MAX_TARGET_GROUPS} target groups (got ${groupCount}): the 5xx-rate alarm combines one metric per group plus one, and CloudWatch allows 10`);
  }
  for (const [name, group] of Object.entries(config.targetGroups)) {
    validateTargetGroup(p, `targetGroups.${name}`, name, group);
  }
  validateRules(p, config);
  validateEveryTargetGroupIsRouted(p, config);
  validateServiceAndCapacity(p, config);
  validateScalingWafAlarms(p, config);
  if (p.list.length > 0) throw new ConfigError(p.list);
  return config;
}

function validateEnvironment(p: Problems, config: AlbatrossConfig): void {
  p.matches('stackName', config.stackName, /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name');
  p.matches('env.account', config.env.account, /^\d{12}$/, 'a 12-digit AWS account id');
  p.matches('env.region', config.env.region, /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1');
  const azs = config.env.availabilityZones;
  if (!Array.isArray(azs) || azs.length < 2) {
    p.add('env.availabilityZones', `must list at least 2 availability zones (got ${JSON.stringify(azs)})`);
  } else {
    azs.forEach((az, i) => {
      if (typeof az !== 'string' || !az.startsWith(config.env.region)) {
        p.add(`env.availabilityZones[${i}]`, `must be a zone of ${config.env.region} (got ${JSON.stringify(az)})`);
      }
    });
  }
  validateCertificateOrDomain(p, config);
}

/** Exactly one way to get the HTTPS listener's certificate: an existing one, or one for `domain`. */
function validateCertificateOrDomain(p: Problems, config: AlbatrossConfig): void {
  const hasArn = config.certificateArn !== undefined && config.certificateArn !== null && config.certificateArn !== '';
  const hasDomain = config.domain !== undefined && config.domain !== null;
  if (hasArn === hasDomain) {
    p.add(
      'certificateArn',
      hasArn
        ? 'and domain are both set: set exactly one (remove the placeholder certificateArn of cdk.json when you use domain, e.g. `-c albatross.certificateArn=null`)'
        : 'or domain is required: pass the ARN of an ACM certificate (`-c albatross.certificateArn=arn:aws:acm:REGION:ACCOUNT:certificate/ID`) or a domain { name, hostedZoneId, hostedZoneName }',
    );
    return;
  }
  if (hasDomain) {
    validateDomain(p, config);
    return;
  }
  const arn = typeof config.certificateArn === 'string' ? CERTIFICATE_ARN.exec(config.certificateArn) : null;
  if (!arn) {
    p.matches('certificateArn', config.certificateArn, CERTIFICATE_ARN, 'an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)');
    return;
  }
  // A load balancer can only use a certificate of its own account and region; CloudFormation would
  // find out half-way through a deploy. This also catches a deploy that forgot to replace the
  // placeholder in cdk.json after changing env.account.
  const [, region, account] = arn;
  if (region !== config.env.region) {
    p.add('certificateArn', `must be a certificate in env.region ${config.env.region} (the ARN's region is ${region})`);
  }
  if (account !== config.env.account) {
    p.add('certificateArn', `must be a certificate in env.account ${config.env.account} (the ARN's account is ${account})`);
  }
}

/** Lower-case DNS labels of 1–63 letters, digits and inner dashes; at least two labels. */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;

function validateDomain(p: Problems, config: AlbatrossConfig): void {
  const d = config.domain!;
  p.matches('domain.name', d.name, DNS_NAME, 'a lower-case DNS name such as app.example.com, without a trailing dot');
  p.matches('domain.hostedZoneName', d.hostedZoneName, DNS_NAME, 'a lower-case DNS zone name such as example.com, without a trailing dot');
  p.matches('domain.hostedZoneId', d.hostedZoneId, HOSTED_ZONE_ID, 'a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ');
  if (typeof d.name === 'string' && typeof d.hostedZoneName === 'string' && d.name !== d.hostedZoneName && !d.name.endsWith(`.${d.hostedZoneName}`)) {
    p.add('domain.name', `must be domain.hostedZoneName ${JSON.stringify(d.hostedZoneName)} or a name below it (got ${JSON.stringify(d.name)})`);
  }
}

function validateLoadBalancer(p: Problems, config: AlbatrossConfig): void {
  const lb = config.loadBalancer;
  p.boolean('loadBalancer.deletionProtection', lb.deletionProtection);
  p.integerInRange('loadBalancer.idleTimeoutSeconds', lb.idleTimeoutSeconds, 1, 4000);
  p.oneOf('loadBalancer.tlsPolicy', lb.tlsPolicy, MODERN_TLS_POLICIES);
  p.oneOf('loadBalancer.desyncMitigationMode', lb.desyncMitigationMode, DESYNC_MITIGATION_MODES);
  p.integerInRange('loadBalancer.httpsPort', lb.httpsPort, 1, 65535);
  p.integerInRange('loadBalancer.httpPort', lb.httpPort, 1, 65535);
  if (lb.httpPort === lb.httpsPort) p.add('loadBalancer.httpPort', `must differ from loadBalancer.httpsPort (${lb.httpsPort})`);
  p.integerInRange('loadBalancer.accessLogRetentionDays', lb.accessLogRetentionDays, ACCESS_LOG_RETENTION_DAYS_RANGE.min, ACCESS_LOG_RETENTION_DAYS_RANGE.max);
  const h = lb.securityHeaders;
  p.matches('loadBalancer.securityHeaders.strictTransportSecurity', h.strictTransportSecurity, /^max-age=\d+/, 'an HSTS value starting with max-age=SECONDS');
  p.oneOf('loadBalancer.securityHeaders.contentTypeOptions', h.contentTypeOptions, ['nosniff']);
  p.oneOf('loadBalancer.securityHeaders.frameOptions', h.frameOptions, FRAME_OPTIONS);
  p.matches('loadBalancer.securityHeaders.contentSecurityPolicy', h.contentSecurityPolicy, /^[^\r\n]{1,1000}$/, 'a non-empty single-line policy of at most 1000 characters');
  p.boolean('loadBalancer.securityHeaders.removeServerHeader', h.removeServerHeader);
}

function validateHealthCheck(p: Problems, field: string, hc: HealthCheckConfig): void {
  p.matches(`${field}.path`, hc.path, /^\/[\x21-\x7e]{0,1023}$/, 'a path starting with / of at most 1024 printable characters');
  p.integerInRange(`${field}.intervalSeconds`, hc.intervalSeconds, 5, 300);
  p.integerInRange(`${field}.timeoutSeconds`, hc.timeoutSeconds, 2, 120);
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    p.add(`${field}.timeoutSeconds`, `must be less than ${field}.intervalSeconds (${hc.timeoutSeconds} >= ${hc.intervalSeconds})`);
  }
  p.integerInRange(`${field}.healthyThreshold`, hc.healthyThreshold, 2, 10);
  p.integerInRange(`${field}.unhealthyThreshold`, hc.unhealthyThreshold, 2, 10);
  p.matches(`${field}.matcher`, hc.matcher, MATCHER, 'HTTP codes like 200, 200,204 or 200-299');
  if (typeof hc.matcher === 'string' && MATCHER.test(hc.matcher)) {
    for (const code of hc.matcher.split(/[,-]/).map(Number)) {
      if (code < 200 || code > 499) p.add(`${field}.matcher`, `codes must be from 200 to 499 (got ${code})`);
    }
  }
}

function validateTargetGroup(p: Problems, field: string, name: string, group: TargetGroupConfig): void {
  if (!TARGET_GROUP_NAME.test(name)) {
    p.add(field, 'name must be lower-case letters, digits and dashes, start with a letter, at most 21 characters');
  }
  validateHealthCheck(p, `${field}.healthCheck`, group.healthCheck);
  p.integerInRange(`${field}.deregistrationDelaySeconds`, group.deregistrationDelaySeconds, 0, 3600);
  const slow = group.slowStartSeconds;
  if (typeof slow !== 'number' || !Number.isInteger(slow) || (slow !== 0 && (slow < 30 || slow > 900))) {
    p.add(`${field}.slowStartSeconds`, `must be 0 (off) or an integer from 30 to 900 (got ${JSON.stringify(slow)})`);
  }
  p.oneOf(`${field}.algorithm`, group.algorithm, ROUTING_ALGORITHMS);
  // ELB rejects slow start with least_outstanding_requests at deploy time, and CDK rejects it with
  // weighted_random; failing here names the field instead.
  if (slow > 0 && group.algorithm !== 'round_robin') {
    p.add(`${field}.slowStartSeconds`, `can only be used with algorithm "round_robin" (algorithm is ${JSON.stringify(group.algorithm)})`);
  }
  p.boolean(`${field}.anomalyMitigation`, group.anomalyMitigation);
  if (group.anomalyMitigation && group.algorithm !== 'weighted_random') {
    p.add(`${field}.anomalyMitigation`, `requires algorithm "weighted_random" (algorithm is ${JSON.stringify(group.algorithm)})`);
  }
  if (group.stickinessSeconds !== undefined) {
    p.integerInRange(`${field}.stickinessSeconds`, group.stickinessSeconds, 1, 604800);
  }
}

function validateRules(p: Problems, config: AlbatrossConfig): void {
  const seen = new Set<number>();
  config.rules.forEach((rule: ListenerRuleConfig, i) => {
    const field = `rules[${i}]`;
    p.integerInRange(`${field}.priority`, rule.priority, 1, 50000);
    if (seen.has(rule.priority)) p.add(`${field}.priority`, `must be unique (${rule.priority} is used twice)`);
    seen.add(rule.priority);
    if (!Array.isArray(rule.pathPatterns) || rule.pathPatterns.length < 1 || rule.pathPatterns.length > 5) {
      p.add(`${field}.pathPatterns`, `must list 1 to 5 patterns (got ${JSON.stringify(rule.pathPatterns)})`);
    } else {
      rule.pathPatterns.forEach((pattern, j) =>
        p.matches(`${field}.pathPatterns[${j}]`, pattern, PATH_PATTERN, 'a path pattern of URL characters with * and ? wildcards'),
      );
    }
    validateRuleAction(p, `${field}.action`, rule, config);
  });
}

/** A group no listener routes to would have no load balancer: ALB metrics and alarms need one. */
function validateEveryTargetGroupIsRouted(p: Problems, config: AlbatrossConfig): void {
  const routed = new Set<string>([config.service.defaultTargetGroup]);
  for (const rule of config.rules) if ('forward' in rule.action) routed.add(rule.action.forward);
  for (const name of Object.keys(config.targetGroups)) {
    if (!routed.has(name)) p.add(`targetGroups.${name}`, 'is not used: forward to it from a rule or make it service.defaultTargetGroup (or remove it with null)');
  }
}

function validateRuleAction(p: Problems, field: string, rule: ListenerRuleConfig, config: AlbatrossConfig): void {
  const action = rule.action;
  if ('forward' in action) {
    if (!(action.forward in config.targetGroups)) {
      p.add(`${field}.forward`, `must name a target group (${Object.keys(config.targetGroups).join(', ')}; got ${JSON.stringify(action.forward)})`);
    }
    return;
  }
  if ('fixedResponse' in action) {
    const fixed = action.fixedResponse;
    if (!/^[245]\d\d$/.test(String(fixed.statusCode))) {
      p.add(`${field}.fixedResponse.statusCode`, `must be a 2XX, 4XX or 5XX code (got ${JSON.stringify(fixed.statusCode)})`);
    }
    p.oneOf(`${field}.fixedResponse.contentType`, fixed.contentType, FIXED_RESPONSE_CONTENT_TYPES);
    if (typeof fixed.body !== 'string' || Buffer.byteLength(fixed.body) > FIXED_RESPONSE_BODY_MAX_BYTES) {
      p.add(`${field}.fixedResponse.body`, `must be a string of at most ${FIXED_RESPONSE_BODY_MAX_BYTES} bytes`);
    }
    return;
  }
  p.add(field, 'must be { "forward": "<target group>" } or { "fixedResponse": { statusCode, contentType, body } }');
}

function validateServiceAndCapacity(p: Problems, config: AlbatrossConfig): void {
  const s = config.service;
  p.matches('service.image', s.image, /^[\w.\-/:@]+$/, 'a container image reference');
  p.integerInRange('service.containerPort', s.containerPort, 1, 65535);
  p.integerInRange('service.memoryReservationMiB', s.memoryReservationMiB, 6, 122880);
  p.integerInRange('service.cpu', s.cpu, 0, 10240);
  p.integerInRange('service.desiredCount', s.desiredCount, 1, 1000);
  p.integerInRange('service.maxCount', s.maxCount, Math.max(1, s.desiredCount), 1000);
  p.integerInRange('service.healthCheckGracePeriodSeconds', s.healthCheckGracePeriodSeconds, 0, 7200);
  p.oneOf('service.logRetentionDays', s.logRetentionDays, LOG_RETENTION_DAYS);
  if (!(s.defaultTargetGroup in config.targetGroups)) {
    p.add('service.defaultTargetGroup', `must name a target group (${Object.keys(config.targetGroups).join(', ')}; got ${JSON.stringify(s.defaultTargetGroup)})`);
  }
  const c = config.capacity;
  p.matches('capacity.instanceType', c.instanceType, /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as t3.small');
  p.integerInRange('capacity.minCapacity', c.minCapacity, 2, 1000);
  p.integerInRange('capacity.maxCapacity', c.maxCapacity, Math.max(2, c.minCapacity), 1000);
  p.integerInRange('capacity.desiredCapacity', c.desiredCapacity, c.minCapacity, c.maxCapacity);
  p.integerInRange('capacity.healthCheckGracePeriodSeconds', c.healthCheckGracePeriodSeconds, 0, 7200);
  // AWS accepts 30–7200; the drain Lambda sends a heartbeat at the start of each run and needs a
  // timeout of at least 60 s below it, so shorter heartbeats would leave no room for a run.
  p.integerInRange('capacity.lifecycleHeartbeatSeconds', c.lifecycleHeartbeatSeconds, 90, 7200);
}

function validateScalingWafAlarms(p: Problems, config: AlbatrossConfig): void {
  const s = config.scaling;
  p.integerInRange('scaling.cpuTargetPercent', s.cpuTargetPercent, 1, 100);
  p.integerInRange('scaling.requestsPerTarget', s.requestsPerTarget, 1, 1_000_000);
  p.integerInRange('scaling.scaleInCooldownSeconds', s.scaleInCooldownSeconds, 0, 86400);
  p.integerInRange('scaling.scaleOutCooldownSeconds', s.scaleOutCooldownSeconds, 0, 86400);
  validateWaf(p, config);
  const a = config.alarms;
  if (typeof a.target5xxRatePercent !== 'number' || a.target5xxRatePercent <= 0 || a.target5xxRatePercent > 100) {
    p.add('alarms.target5xxRatePercent', `must be a number above 0 and at most 100 (got ${JSON.stringify(a.target5xxRatePercent)})`);
  }
  p.integerInRange('alarms.p95LatencyMs', a.p95LatencyMs, 1, 60_000);
  if (typeof a.periodSeconds !== 'number' || a.periodSeconds < 60 || a.periodSeconds % 60 !== 0 || a.periodSeconds > MAX_ALARM_WINDOW_SECONDS) {
    p.add('alarms.periodSeconds', `must be a multiple of 60 from 60 to ${MAX_ALARM_WINDOW_SECONDS} (got ${JSON.stringify(a.periodSeconds)})`);
  }
  p.integerInRange('alarms.evaluationPeriods', a.evaluationPeriods, 1, MAX_ALARM_WINDOW_SECONDS / 60);
  p.integerInRange('alarms.datapointsToAlarm', a.datapointsToAlarm, 1, Math.max(1, a.evaluationPeriods));
  if (typeof a.elb5xxRatePercent !== 'number' || a.elb5xxRatePercent <= 0 || a.elb5xxRatePercent > 100) {
    p.add('alarms.elb5xxRatePercent', `must be a number above 0 and at most 100 (got ${JSON.stringify(a.elb5xxRatePercent)})`);
  }
  p.boolean('alarms.rollbackOnAlarm', a.rollbackOnAlarm);
  if (a.email !== undefined && a.email !== null) p.matches('alarms.email', a.email, EMAIL, 'an e-mail address such as oncall@example.com');
  if (a.evaluationPeriods * a.periodSeconds > MAX_ALARM_WINDOW_SECONDS) {
    p.add('alarms.evaluationPeriods', `× alarms.periodSeconds must be at most ${MAX_ALARM_WINDOW_SECONDS} seconds, a CloudWatch limit (got ${a.evaluationPeriods} × ${a.periodSeconds})`);
  }
}

/** One @, no spaces, a dotted domain: what SNS accepts, without trying to be RFC 5322. */
const EMAIL = /^[^\s@]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** WAF's rate-based rule limits. */
const RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;
/** Rule names are also metric names; WAF allows 128 characters, the prefix takes some. */
const RATE_LIMIT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Each rule costs web ACL capacity units (WCU): a path limit about 24 (rate-based 2, prefix match 2,
 * two text transformations 10 each). Ten of them with the managed groups (common 700, known bad
 * inputs 200) keep the ACL within the 1,500 WCU of WAF's base price.
 */
const MAX_PATH_RATE_LIMITS = 10;
/** Config keys replaced by `waf.generalRateLimit` and `waf.rateLimits`: a stale cdk.json must not pass silently. */
const REPLACED_WAF_KEYS = ['rateLimitPer5Minutes', 'authRateLimitPer5Minutes', 'authPathPrefix'];

function validateRateLimit(p: Problems, field: string, limit: RateLimitConfig): void {
  p.integerInRange(`${field}.limit`, limit.limit, RATE_LIMIT_RANGE.min, RATE_LIMIT_RANGE.max);
  p.oneOf(`${field}.windowSeconds`, limit.windowSeconds, RATE_LIMIT_WINDOWS_SECONDS);
}

/** Requests per second a limit allows, to compare limits over different windows. */
function perSecond(limit: RateLimitConfig): number {
  return limit.limit / limit.windowSeconds;
}

function validateWaf(p: Problems, config: AlbatrossConfig): void {
  const w = config.waf;
  for (const key of REPLACED_WAF_KEYS) {
    if (key in w) p.add(`waf.${key}`, 'was replaced by waf.generalRateLimit { limit, windowSeconds } and waf.rateLimits[] { name, pathPrefix, limit, windowSeconds }');
  }
  p.integerInRange('waf.maxBodyBytes', w.maxBodyBytes, 0, Number.MAX_SAFE_INTEGER);
  if (Number.isSafeInteger(w.maxBodyBytes) && w.maxBodyBytes >= 0 && greaterThanPattern(w.maxBodyBytes).length > WAF_REGEX_MAX_LENGTH) {
    p.add('waf.maxBodyBytes', `needs a Content-Length pattern longer than the ${WAF_REGEX_MAX_LENGTH} characters WAF allows`);
  }
  validateRateLimit(p, 'waf.generalRateLimit', w.generalRateLimit);
  if (!Array.isArray(w.rateLimits) || w.rateLimits.length > MAX_PATH_RATE_LIMITS) {
    p.add('waf.rateLimits', `must be a list of at most ${MAX_PATH_RATE_LIMITS} limits (got ${JSON.stringify(w.rateLimits)})`);
    return;
  }
  const names = new Set<string>();
  w.rateLimits.forEach((limit, i) => {
    const field = `waf.rateLimits[${i}]`;
    p.matches(`${field}.name`, limit.name, RATE_LIMIT_NAME, 'a name of 1–64 letters, digits, - and _');
    if (names.has(limit.name)) p.add(`${field}.name`, `must be unique (${JSON.stringify(limit.name)} is used twice)`);
    names.add(limit.name);
    p.matches(`${field}.pathPrefix`, limit.pathPrefix, /^\/[\x21-\x7e]{0,200}$/, 'a path prefix starting with / of printable characters');
    validateRateLimit(p, field, limit);
    if (perSecond(limit) > perSecond(w.generalRateLimit)) {
      p.add(
        field,
        `allows ${limit.limit} per ${limit.windowSeconds} s, more than waf.generalRateLimit (${w.generalRateLimit.limit} per ${w.generalRateLimit.windowSeconds} s), which would block first`,
      );
    }
  });
}
