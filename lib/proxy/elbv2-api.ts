/**
 * The ELBv2 Query API, the part the drain engine and operators use, served from the local data
 * plane: DescribeTargetGroups, DescribeTargetHealth, RegisterTargets, DeregisterTargets,
 * DescribeTargetGroupAttributes. Pure functions: the network layer mounts `handleElbv2Request` on
 * the admin port at `POST /`, so `@aws-sdk/client-elastic-load-balancing-v2` with
 * `endpoint: http://127.0.0.1:<admin>` works unchanged against the local proxy.
 */
import { createHash, randomUUID } from 'node:crypto';
import { TARGET_GROUP_ATTRIBUTES as TG } from '../alb/target-group-attributes';
import { formatTargetId, parseTargetId } from '../alb/target-id';
import { LoadBalancerRuntime, TargetChange, TargetGroupRuntime } from './contracts';
import { TargetAddress, TargetGroupModel, TargetReason, TargetStatus } from './model';

export const ELBV2_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const ARN_PREFIX = 'arn:aws:elasticloadbalancing:local:000000000000';

export interface Elbv2Response {
  readonly statusCode: number;
  readonly contentType: 'text/xml';
  readonly body: string;
}

class Elbv2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** 16 hex digits derived from a logical id: stable across runs, like the ALB's ARN suffix. */
function arnSuffix(logicalId: string): string {
  return createHash('sha256').update(logicalId).digest('hex').slice(0, 16);
}

/** The local ARN of a target group. */
export function targetGroupArn(model: Pick<TargetGroupModel, 'name' | 'logicalId'>): string {
  return `${ARN_PREFIX}:targetgroup/${model.name}/${arnSuffix(model.logicalId)}`;
}

/** The local ARN of the load balancer. */
export function loadBalancerArn(logicalId: string): string {
  return `${ARN_PREFIX}:loadbalancer/app/${logicalId}/${arnSuffix(logicalId)}`;
}

const DESCRIPTIONS: Record<TargetReason, string> = {
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Elb.InitialHealthChecking': 'Initial health checks in progress',
  'Target.ResponseCodeMismatch': 'Health checks failed with these codes: mismatch',
  'Target.Timeout': 'Request timed out',
  'Target.FailedHealthChecks': 'Health checks failed',
  'Target.NotRegistered': 'Target is not registered to the target group',
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.HealthCheckDisabled': 'Health checks are disabled',
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<name>value</name>`, escaped. */
function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function members(items: string[]): string {
  return items.map((item) => `<member>${item}</member>`).join('');
}

function envelope(action: string, result: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ELBV2_NAMESPACE}">` +
    `<${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function errorBody(error: Elbv2Error, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ELBV2_NAMESPACE}">` +
    `<Error><Type>Sender</Type>${el('Code', error.code)}${el('Message', error.message)}</Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** Query parameters, with `X.member.N` lists collected in order. */
class Params {
  private readonly values = new Map<string, string>();

  constructor(body: string) {
    for (const [key, value] of new URLSearchParams(body)) this.values.set(key, value);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  required(key: string): string {
    const value = this.values.get(key);
    if (value === undefined || value === '') throw new Elbv2Error('ValidationError', `1 validation error detected: Value null at '${key.charAt(0).toLowerCase()}${key.slice(1)}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  /** `Name.member.1`, `Name.member.2`, … */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; this.values.has(`${name}.member.${i}`); i++) out.push(this.values.get(`${name}.member.${i}`) as string);
    return out;
  }

  /** `Targets.member.N.Id` / `.Port` */
  targets(defaultPort: number): TargetAddress[] {
    const out: TargetAddress[] = [];
    for (let i = 1; this.values.has(`Targets.member.${i}.Id`); i++) {
      const host = this.values.get(`Targets.member.${i}.Id`) as string;
      const portText = this.values.get(`Targets.member.${i}.Port`);
      const port = portText === undefined ? defaultPort : Number(portText);
      if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Elbv2Error('InvalidTarget', `The following targets are not valid: ${host}:${portText ?? ''}`);
      }
      out.push({ host, port });
    }
    return out;
  }
}

function groupsOf(runtime: LoadBalancerRuntime): TargetGroupRuntime[] {
  return Object.values(runtime.model.targetGroups).map((m) => runtime.targetGroup(m.logicalId) as TargetGroupRuntime);
}

function groupByArn(runtime: LoadBalancerRuntime, arn: string): TargetGroupRuntime {
  const group = groupsOf(runtime).find((g) => targetGroupArn(g.model) === arn);
  if (!group) throw new Elbv2Error('TargetGroupNotFound', `Target groups '${arn}' not found`);
  return group;
}

function describeTargetGroups(runtime: LoadBalancerRuntime, p: Params): string {
  const arns = p.list('TargetGroupArns');
  const names = p.list('Names');
  const lbArn = p.get('LoadBalancerArn');
  let groups = groupsOf(runtime);
  if (arns.length > 0) groups = arns.map((arn) => groupByArn(runtime, arn));
  if (names.length > 0) {
    groups = names.map((name) => {
      const g = groups.find((x) => x.model.name === name);
      if (!g) throw new Elbv2Error('TargetGroupNotFound', `One or more target groups not found`);
      return g;
    });
  }
  if (lbArn !== undefined && lbArn !== loadBalancerArn(runtime.model.logicalId)) {
    throw new Elbv2Error('LoadBalancerNotFound', `Load balancers '[${lbArn}]' not found`);
  }
  const lb = loadBalancerArn(runtime.model.logicalId);
  const items = groups.map(({ model: m }) => {
    const hc = m.healthCheck;
    return (
      el('TargetGroupArn', targetGroupArn(m)) +
      el('TargetGroupName', m.name) +
      el('Protocol', m.protocol) +
      el('Port', m.port) +
      el('VpcId', 'vpc-local') +
      el('HealthCheckProtocol', m.protocol) +
      el('HealthCheckPort', 'traffic-port') +
      el('HealthCheckEnabled', hc.enabled) +
      el('HealthCheckIntervalSeconds', hc.intervalSeconds) +
      el('HealthCheckTimeoutSeconds', hc.timeoutSeconds) +
      el('HealthyThresholdCount', hc.healthyThreshold) +
      el('UnhealthyThresholdCount', hc.unhealthyThreshold) +
      el('HealthCheckPath', hc.path) +
      `<Matcher>${el('HttpCode', hc.matcher)}</Matcher>` +
      `<LoadBalancerArns>${members([escapeXml(lb)])}</LoadBalancerArns>` +
      el('TargetType', 'ip') +
      el('ProtocolVersion', 'HTTP1') +
      el('IpAddressType', 'ipv4')
    );
  });
  return `<TargetGroups>${members(items)}</TargetGroups>`;
}

/** A TargetStatus id split back into its address: the ids are the proxy's own, so always valid. */
function splitId(id: string): TargetAddress {
  const address = parseTargetId(id);
  if (!address) throw new Error(`not a target id: ${JSON.stringify(id)}`);
  return address;
}

function healthMember(address: TargetAddress, status: Pick<TargetStatus, 'state' | 'reason'>): string {
  const reason = status.reason === undefined ? '' : el('Reason', status.reason) + el('Description', DESCRIPTIONS[status.reason]);
  return (
    `<Target>${el('Id', address.host)}${el('Port', address.port)}</Target>` +
    el('HealthCheckPort', address.port) +
    `<TargetHealth>${el('State', status.state)}${reason}</TargetHealth>`
  );
}

function describeTargetHealth(runtime: LoadBalancerRuntime, p: Params): string {
  const group = groupByArn(runtime, p.required('TargetGroupArn'));
  const statuses = new Map(group.status().map((s) => [s.id, s]));
  const wanted = p.targets(group.model.port);
  const items =
    wanted.length === 0
      ? [...statuses.values()].map((s) => healthMember(splitId(s.id), s))
      : wanted.map((t) => healthMember(t, statuses.get(formatTargetId(t)) ?? { state: 'unused', reason: 'Target.NotRegistered' }));
  return `<TargetHealthDescriptions>${members(items)}</TargetHealthDescriptions>`;
}

function registerTargets(runtime: LoadBalancerRuntime, p: Params, onTargetChange?: TargetChangeListener): string {
  const group = groupByArn(runtime, p.required('TargetGroupArn'));
  const targets = p.targets(group.model.port);
  if (targets.length === 0) p.required('Targets.member.1.Id');
  for (const t of targets) {
    group.register(t);
    onTargetChange?.({ op: 'register', targetGroup: group.model.name, target: formatTargetId(t) });
  }
  return '';
}

function deregisterTargets(runtime: LoadBalancerRuntime, p: Params, onTargetChange?: TargetChangeListener): string {
  const group = groupByArn(runtime, p.required('TargetGroupArn'));
  const targets = p.targets(group.model.port);
  if (targets.length === 0) p.required('Targets.member.1.Id');
  const registered = new Set(group.status().map((s) => s.id));
  const missing = targets.filter((t) => !registered.has(formatTargetId(t)));
  if (missing.length > 0) {
    throw new Elbv2Error('InvalidTarget', `The following targets are not registered in target group: ${missing.map(formatTargetId).join(', ')}`);
  }
  // Draining runs on; its end shows up in DescribeTargetHealth after the delay, as on the ALB.
  for (const t of targets) {
    void group.deregister(formatTargetId(t));
    onTargetChange?.({ op: 'deregister', targetGroup: group.model.name, target: formatTargetId(t) });
  }
  return '';
}

function describeTargetGroupAttributes(runtime: LoadBalancerRuntime, p: Params): string {
  const m = groupByArn(runtime, p.required('TargetGroupArn')).model;
  const attributes: [string, string][] = [
    [TG.deregistrationDelaySeconds, String(m.deregistrationDelaySeconds)],
    [TG.slowStartSeconds, String(m.slowStartSeconds)],
    [TG.algorithm, m.algorithm],
    [TG.anomalyMitigation, m.anomalyMitigation ? 'on' : 'off'],
    [TG.stickinessEnabled, String(m.stickiness.enabled)],
    [TG.stickinessType, m.stickiness.type],
    [TG.lbCookieDurationSeconds, String(m.stickiness.durationSeconds)],
    [TG.crossZone, 'use_load_balancer_configuration'],
  ];
  return `<Attributes>${members(attributes.map(([k, v]) => el('Key', k) + el('Value', v)))}</Attributes>`;
}

const ACTIONS: Record<string, (runtime: LoadBalancerRuntime, p: Params, onTargetChange?: TargetChangeListener) => string> = {
  DescribeTargetGroups: describeTargetGroups,
  DescribeTargetHealth: describeTargetHealth,
  RegisterTargets: registerTargets,
  DeregisterTargets: deregisterTargets,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
};

/**
 * Hears every registration change made through this API (cluster mode relays them to the other
 * workers, as it does for the admin API's /targets/*).
 */
export type TargetChangeListener = (change: TargetChange) => void;

/** An ELBv2 `ErrorResponse` (for errors the admin server finds before the action runs, e.g. access). */
export function elbv2ErrorResponse(code: string, message: string, statusCode: number): Elbv2Response {
  return { statusCode, contentType: 'text/xml', body: errorBody(new Elbv2Error(code, message, statusCode), randomUUID()) };
}

/** Answers one Query-protocol request body (`Action=…&Version=2015-12-01&…`) as ELBv2 would. */
export function handleElbv2Request(runtime: LoadBalancerRuntime, body: string, onTargetChange?: TargetChangeListener): Elbv2Response {
  const requestId = randomUUID();
  const p = new Params(body);
  const action = p.get('Action') ?? '';
  try {
    const handler = ACTIONS[action];
    if (!handler) {
      throw new Elbv2Error('InvalidAction', `The action ${action || '(none)'} is not valid for this endpoint; the local proxy supports ${Object.keys(ACTIONS).join(', ')}`);
    }
    const version = p.get('Version');
    if (version !== undefined && version !== '2015-12-01') throw new Elbv2Error('InvalidParameterValue', `Version ${version} is not supported; use 2015-12-01`);
    return { statusCode: 200, contentType: 'text/xml', body: envelope(action, handler(runtime, p, onTargetChange), requestId) };
  } catch (error) {
    if (!(error instanceof Elbv2Error)) throw error;
    return { statusCode: error.statusCode, contentType: 'text/xml', body: errorBody(error, requestId) };
  }
}
