/**
 * Reads the load balancer out of the SYNTHESIZED CloudFormation template, so that the local proxy
 * runs exactly what `cdk deploy` creates. Values absent from the template take the ALB defaults.
 */
import { readFileSync } from 'node:fs';
import { RESPONSE_HEADER_ATTRIBUTES, SERVER_HEADER_ENABLED_ATTRIBUTE } from '../alb/listener-attributes';
import { ALB_DESYNC_MITIGATION_MODES, LOAD_BALANCER_ATTRIBUTES as LB, LOAD_BALANCER_DEFAULTS } from '../alb/load-balancer-attributes';
import { DEFAULT_ROUTING_ALGORITHM, ROUTING_ALGORITHMS, RoutingAlgorithm } from '../alb/routing-algorithms';
import { TARGET_GROUP_NAME_TAG } from '../alb/tags';
import { TARGET_GROUP_ATTRIBUTES as TG, TARGET_GROUP_DEFAULTS } from '../alb/target-group-attributes';
import {
  ActionModel,
  ConditionModel,
  HealthCheckModel,
  ListenerModel,
  LoadBalancerModel,
  RuleModel,
  StickinessModel,
  TargetGroupModel,
} from './model';
import { readWebAcl } from './waf/read';

/** A template the proxy cannot run; the message is one line naming the source and the problem. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface LoadModelOptions {
  /** Where the template came from, for messages (a file path). @default 'template' */
  readonly source?: string;
  /** Logical id of the load balancer when the template holds several. @default - the only one */
  readonly loadBalancer?: string;
  /** Receives one-line warnings about features the proxy does not reproduce. @default console.warn */
  readonly onWarning?: (message: string) => void;
  /** Read the web ACL associated with the load balancer (`--no-waf` skips it, malformed or not). @default true */
  readonly webAcl?: boolean;
}


const TYPE = {
  loadBalancer: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  listener: 'AWS::ElasticLoadBalancingV2::Listener',
  rule: 'AWS::ElasticLoadBalancingV2::ListenerRule',
  targetGroup: 'AWS::ElasticLoadBalancingV2::TargetGroup',
} as const;

type Json = Record<string, unknown>;

interface Resource {
  readonly Type: string;
  readonly Properties: Json;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads the template's resources and reports problems with the template's source in the message. */
class TemplateReader {
  readonly resources: Record<string, Resource> = {};

  constructor(
    template: unknown,
    readonly source: string,
    readonly warn: (message: string) => void,
  ) {
    if (!isObject(template) || !isObject(template.Resources)) this.fail('has no Resources section');
    for (const [id, value] of Object.entries(template.Resources as Json)) {
      if (isObject(value) && typeof value.Type === 'string') {
        this.resources[id] = { Type: value.Type, Properties: isObject(value.Properties) ? value.Properties : {} };
      }
    }
  }

  fail(message: string): never {
    throw new TemplateError(`${this.source}: ${message}`);
  }

  ofType(type: string): [string, Json][] {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => [id, r.Properties]);
  }

  /** The logical id in `{Ref: id}`; anything else (an imported ARN, another intrinsic) is unsupported. */
  ref(value: unknown, what: string, expectedType: string): string {
    if (isObject(value) && typeof value.Ref === 'string' && this.resources[value.Ref]?.Type === expectedType) return value.Ref;
    return this.fail(`${what} must be {"Ref": <${expectedType.split('::').pop()} in this template>} (got ${JSON.stringify(value)})`);
  }

  string(value: unknown, what: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(`${what} must be a literal value, not ${JSON.stringify(value)}`);
  }

  /** A literal number; without a fallback the value is required. */
  number(value: unknown, what: string, fallback?: number): number {
    if (value === undefined) return fallback ?? this.fail(`${what} is missing`);
    const n = Number(this.string(value, what));
    if (!Number.isFinite(n)) this.fail(`${what} must be a number (got ${JSON.stringify(value)})`);
    return n;
  }

  strings(value: unknown, what: string): string[] {
    if (!Array.isArray(value)) return this.fail(`${what} must be a list (got ${JSON.stringify(value)})`);
    return value.map((v, i) => this.string(v, `${what}[${i}]`));
  }

  /** Key/Value attribute lists as a map of literal strings. */
  attributes(value: unknown, what: string): Map<string, string> {
    const map = new Map<string, string>();
    if (value === undefined) return map;
    if (!Array.isArray(value)) this.fail(`${what} must be a list of {Key, Value}`);
    for (const entry of value as unknown[]) {
      if (!isObject(entry) || typeof entry.Key !== 'string') this.fail(`${what} has an entry without a Key`);
      const e = entry as Json;
      // Attributes the proxy does not read (access log bucket, …) may be intrinsics: skip them.
      if (typeof e.Value === 'string' || typeof e.Value === 'number' || typeof e.Value === 'boolean') {
        map.set(e.Key as string, String(e.Value));
      }
    }
    return map;
  }
}

function numberAttribute(r: TemplateReader, attrs: Map<string, string>, key: string, fallback: number, what: string): number {
  return r.number(attrs.get(key), `${what} attribute ${key}`, fallback);
}

/** An attribute that is `true` or `false`; absent: the ALB's default. */
function booleanAttribute(attrs: Map<string, string>, key: string, fallback: boolean): boolean {
  const value = attrs.get(key);
  return value === undefined ? fallback : value === 'true';
}

function oneOf<T extends string>(r: TemplateReader, value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return r.fail(`${what} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

/** HealthCheckPort: `traffic-port` (or absent) means the target's own port. */
function readHealthCheckPort(r: TemplateReader, value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  const text = r.string(value, what);
  if (text === 'traffic-port') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) r.fail(`${what} must be traffic-port or a port from 1 to 65535 (got ${JSON.stringify(value)})`);
  return port;
}

function readHealthCheck(r: TemplateReader, p: Json, what: string): HealthCheckModel {
  const matcher = isObject(p.Matcher) ? p.Matcher.HttpCode : undefined;
  const intervalSeconds = r.number(p.HealthCheckIntervalSeconds, `${what}.HealthCheckIntervalSeconds`, 30);
  const timeoutSeconds = r.number(p.HealthCheckTimeoutSeconds, `${what}.HealthCheckTimeoutSeconds`, 5);
  // The ALB refuses a timeout that is not shorter than the interval (docs/alb-behaviour.md §6).
  if (timeoutSeconds >= intervalSeconds) {
    r.fail(`${what}.HealthCheckTimeoutSeconds (${timeoutSeconds}) must be smaller than HealthCheckIntervalSeconds (${intervalSeconds})`);
  }
  const protocol = p.HealthCheckProtocol === undefined ? undefined : oneOf(r, r.string(p.HealthCheckProtocol, `${what}.HealthCheckProtocol`), ['HTTP', 'HTTPS'] as const, `${what}.HealthCheckProtocol`);
  const port = readHealthCheckPort(r, p.HealthCheckPort, `${what}.HealthCheckPort`);
  return {
    enabled: p.HealthCheckEnabled === undefined ? true : r.string(p.HealthCheckEnabled, `${what}.HealthCheckEnabled`) === 'true',
    path: p.HealthCheckPath === undefined ? '/' : r.string(p.HealthCheckPath, `${what}.HealthCheckPath`),
    intervalSeconds,
    timeoutSeconds,
    healthyThreshold: r.number(p.HealthyThresholdCount, `${what}.HealthyThresholdCount`, 5),
    unhealthyThreshold: r.number(p.UnhealthyThresholdCount, `${what}.UnhealthyThresholdCount`, 2),
    matcher: matcher === undefined ? '200' : r.string(matcher, `${what}.Matcher.HttpCode`),
    ...(protocol === undefined ? {} : { protocol }),
    ...(port === undefined ? {} : { port }),
  };
}

function readStickiness(r: TemplateReader, attrs: Map<string, string>, what: string): StickinessModel {
  const type = oneOf(r, attrs.get(TG.stickinessType) ?? 'lb_cookie', ['lb_cookie', 'app_cookie', 'source_ip'] as const, `${what} stickiness.type`);
  if (type === 'source_ip') r.fail(`${what} stickiness.type source_ip is for Network Load Balancers`);
  const enabled = attrs.get(TG.stickinessEnabled) === 'true';
  if (type === 'app_cookie') {
    if (enabled) r.warn(`${what}: app_cookie stickiness is not reproduced by the local proxy; requests are not sticky`);
    return {
      enabled: false,
      type,
      durationSeconds: numberAttribute(r, attrs, TG.appCookieDurationSeconds, TARGET_GROUP_DEFAULTS.stickinessDurationSeconds, what),
      appCookieName: attrs.get(TG.appCookieName),
    };
  }
  return { enabled, type, durationSeconds: numberAttribute(r, attrs, TG.lbCookieDurationSeconds, TARGET_GROUP_DEFAULTS.stickinessDurationSeconds, what) };
}

function tagValue(tags: unknown, key: string): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find((t: unknown) => isObject(t) && t.Key === key) as Json | undefined;
  return typeof tag?.Value === 'string' ? tag.Value : undefined;
}

function readTargetGroup(r: TemplateReader, logicalId: string, p: Json): TargetGroupModel {
  const what = `target group ${logicalId}`;
  const targetType = p.TargetType === undefined ? 'instance' : r.string(p.TargetType, `${what}.TargetType`);
  if (targetType === 'lambda') r.fail(`${what} has TargetType lambda, which the local proxy does not support`);
  const attrs = r.attributes(p.TargetGroupAttributes, `${what}.TargetGroupAttributes`);
  const algorithm = oneOf<RoutingAlgorithm>(r, attrs.get(TG.algorithm) ?? DEFAULT_ROUTING_ALGORITHM, ROUTING_ALGORITHMS, `${what} ${TG.algorithm}`);
  const slowStartSeconds = numberAttribute(r, attrs, TG.slowStartSeconds, TARGET_GROUP_DEFAULTS.slowStartSeconds, what);
  if (slowStartSeconds > 0 && algorithm !== 'round_robin') {
    r.warn(`${what}: slow start works with round_robin only (the ELB guide); it is ignored with ${algorithm}`);
  }
  return {
    logicalId,
    name: tagValue(p.Tags, TARGET_GROUP_NAME_TAG) ?? logicalId,
    protocol: oneOf(r, p.Protocol === undefined ? 'HTTP' : r.string(p.Protocol, `${what}.Protocol`), ['HTTP', 'HTTPS'] as const, `${what}.Protocol`),
    port: r.number(p.Port, `${what}.Port`, 80),
    healthCheck: readHealthCheck(r, p, what),
    deregistrationDelaySeconds: numberAttribute(r, attrs, TG.deregistrationDelaySeconds, TARGET_GROUP_DEFAULTS.deregistrationDelaySeconds, what),
    slowStartSeconds,
    algorithm,
    anomalyMitigation: attrs.get(TG.anomalyMitigation) === 'on',
    stickiness: readStickiness(r, attrs, what),
  };
}

function readForward(r: TemplateReader, a: Json, what: string): ActionModel {
  const tgType = TYPE.targetGroup;
  const fc = isObject(a.ForwardConfig) ? a.ForwardConfig : undefined;
  if (fc && Array.isArray(fc.TargetGroups) && fc.TargetGroups.length > 0) {
    const targetGroups = (fc.TargetGroups as unknown[]).map((tg, i) => {
      const t = isObject(tg) ? tg : {};
      return { targetGroup: r.ref(t.TargetGroupArn, `${what}.ForwardConfig.TargetGroups[${i}].TargetGroupArn`, tgType), weight: r.number(t.Weight, `${what} weight`, 1) };
    });
    const sticky = isObject(fc.TargetGroupStickinessConfig) ? fc.TargetGroupStickinessConfig : undefined;
    const stickyOn = sticky !== undefined && r.string(sticky.Enabled ?? 'false', `${what} group stickiness`) === 'true';
    return {
      type: 'forward',
      targetGroups,
      ...(stickyOn ? { groupStickinessSeconds: r.number(sticky?.DurationSeconds, `${what} group stickiness duration`, 3600) } : {}),
    };
  }
  return { type: 'forward', targetGroups: [{ targetGroup: r.ref(a.TargetGroupArn, `${what}.TargetGroupArn`, tgType), weight: 1 }] };
}

function readRedirect(r: TemplateReader, a: Json, what: string): ActionModel {
  const c = isObject(a.RedirectConfig) ? a.RedirectConfig : r.fail(`${what} has no RedirectConfig`);
  const get = (key: string, fallback: string): string => (c[key] === undefined ? fallback : r.string(c[key], `${what}.RedirectConfig.${key}`));
  const status = get('StatusCode', 'HTTP_301');
  return {
    type: 'redirect',
    protocol: get('Protocol', '#{protocol}'),
    host: get('Host', '#{host}'),
    port: get('Port', '#{port}'),
    path: get('Path', '/#{path}'),
    query: get('Query', '#{query}'),
    statusCode: oneOf(r, status, ['HTTP_301', 'HTTP_302'] as const, `${what}.RedirectConfig.StatusCode`) === 'HTTP_301' ? 301 : 302,
  };
}

function readFixedResponse(r: TemplateReader, a: Json, what: string): ActionModel {
  const c = isObject(a.FixedResponseConfig) ? a.FixedResponseConfig : r.fail(`${what} has no FixedResponseConfig`);
  return {
    type: 'fixed-response',
    statusCode: r.number(c.StatusCode, `${what}.FixedResponseConfig.StatusCode`),
    ...(c.ContentType !== undefined ? { contentType: r.string(c.ContentType, `${what} content type`) } : {}),
    ...(c.MessageBody !== undefined ? { body: r.string(c.MessageBody, `${what} body`) } : {}),
  };
}

/** The terminal action of an action list; authenticate actions are warned about and skipped. */
function readActions(r: TemplateReader, actions: unknown, what: string): ActionModel {
  if (!Array.isArray(actions) || actions.length === 0) r.fail(`${what} has no actions`);
  const sorted = (actions as unknown[]).filter(isObject).sort((a, b) => Number(a.Order ?? 0) - Number(b.Order ?? 0));
  let terminal: ActionModel | undefined;
  for (const a of sorted) {
    const type = r.string(a.Type, `${what} action Type`);
    if (type.startsWith('authenticate-')) {
      r.warn(`${what}: ${type} is not supported by the local proxy; requests pass without authentication`);
    } else if (type === 'forward') terminal = readForward(r, a, what);
    else if (type === 'redirect') terminal = readRedirect(r, a, what);
    else if (type === 'fixed-response') terminal = readFixedResponse(r, a, what);
    else r.fail(`${what} has an unsupported action type ${JSON.stringify(type)}`);
  }
  return terminal ?? r.fail(`${what} has no forward, redirect or fixed-response action`);
}

const CONDITION_CONFIG: Record<string, string> = {
  'path-pattern': 'PathPatternConfig',
  'host-header': 'HostHeaderConfig',
  'http-request-method': 'HttpRequestMethodConfig',
  'source-ip': 'SourceIpConfig',
};

function readCondition(r: TemplateReader, c: unknown, what: string): ConditionModel {
  if (!isObject(c)) return r.fail(`${what} is not an object`);
  const field = r.string(c.Field, `${what}.Field`);
  if (field === 'http-header') {
    const h = isObject(c.HttpHeaderConfig) ? c.HttpHeaderConfig : r.fail(`${what} has no HttpHeaderConfig`);
    return { field, headerName: r.string(h.HttpHeaderName, `${what}.HttpHeaderName`), values: r.strings(h.Values, `${what}.Values`) };
  }
  if (field === 'query-string') {
    const q = isObject(c.QueryStringConfig) ? c.QueryStringConfig : r.fail(`${what} has no QueryStringConfig`);
    const values = Array.isArray(q.Values) ? (q.Values as unknown[]) : r.fail(`${what}.QueryStringConfig.Values must be a list`);
    return {
      field,
      values: values.map((v, i) => {
        const kv = isObject(v) ? v : {};
        const value = r.string(kv.Value, `${what}.Values[${i}].Value`);
        return kv.Key === undefined ? { value } : { key: r.string(kv.Key, `${what}.Values[${i}].Key`), value };
      }),
    };
  }
  const configKey = CONDITION_CONFIG[field];
  if (!configKey) return r.fail(`${what} has an unsupported Field ${JSON.stringify(field)}`);
  // The legacy form puts Values on the condition itself (path-pattern and host-header only).
  const config = isObject(c[configKey]) ? (c[configKey] as Json) : c;
  return { field, values: r.strings(config.Values, `${what}.Values`) } as ConditionModel;
}

function readRule(r: TemplateReader, logicalId: string, p: Json): RuleModel {
  const what = `listener rule ${logicalId}`;
  const conditions = Array.isArray(p.Conditions) ? (p.Conditions as unknown[]) : r.fail(`${what} has no Conditions`);
  return {
    logicalId,
    priority: r.number(p.Priority, `${what}.Priority`),
    conditions: conditions.map((c, i) => readCondition(r, c, `${what} condition ${i}`)),
    action: readActions(r, p.Actions, what),
  };
}

function readListener(r: TemplateReader, logicalId: string, p: Json, rules: RuleModel[]): ListenerModel {
  const what = `listener ${logicalId}`;
  const attrs = r.attributes(p.ListenerAttributes, `${what}.ListenerAttributes`);
  const responseHeaders: Record<string, string> = {};
  for (const [header, key] of Object.entries(RESPONSE_HEADER_ATTRIBUTES)) {
    const value = attrs.get(key);
    if (value !== undefined && value !== '') responseHeaders[header] = value;
  }
  return {
    logicalId,
    port: r.number(p.Port, `${what}.Port`),
    protocol: oneOf(r, r.string(p.Protocol, `${what}.Protocol`), ['HTTP', 'HTTPS'] as const, `${what}.Protocol`),
    defaultAction: readActions(r, p.DefaultActions, `${what} default action`),
    rules: [...rules].sort((a, b) => a.priority - b.priority),
    responseHeaders,
    removeServerHeader: attrs.get(SERVER_HEADER_ENABLED_ATTRIBUTE) === 'false',
    ...(p.SslPolicy === undefined ? {} : { sslPolicy: r.string(p.SslPolicy, `${what}.SslPolicy`) }),
  };
}

function pickLoadBalancer(r: TemplateReader, wanted: string | undefined): [string, Json] {
  const all = r.ofType(TYPE.loadBalancer).filter(([, p]) => p.Type === undefined || p.Type === 'application');
  if (wanted !== undefined) {
    return all.find(([id]) => id === wanted) ?? r.fail(`has no Application Load Balancer with logical id ${JSON.stringify(wanted)}`);
  }
  if (all.length === 0) r.fail(`has no Application Load Balancer (no resource of type ${TYPE.loadBalancer}); is this the synthesized stack template?`);
  if (all.length > 1) r.fail(`has ${all.length} Application Load Balancers (${all.map(([id]) => id).join(', ')}); choose one`);
  return all[0];
}

/** Builds the proxy's model of the (only, or chosen) Application Load Balancer in a template. */
export function loadModelFromTemplate(template: unknown, options: LoadModelOptions = {}): LoadBalancerModel {
  const r = new TemplateReader(template, options.source ?? 'template', options.onWarning ?? ((m) => console.warn(m)));
  const [lbId, lb] = pickLoadBalancer(r, options.loadBalancer);
  const lbAttrs = r.attributes(lb.LoadBalancerAttributes, `load balancer ${lbId}.LoadBalancerAttributes`);
  const listenerEntries = r.ofType(TYPE.listener).filter(([id, p]) => r.ref(p.LoadBalancerArn, `listener ${id}.LoadBalancerArn`, TYPE.loadBalancer) === lbId);
  if (listenerEntries.length === 0) r.fail(`load balancer ${lbId} has no listeners`);
  const listenerIds = new Set(listenerEntries.map(([id]) => id));
  const rulesByListener = new Map<string, RuleModel[]>();
  for (const [id, p] of r.ofType(TYPE.rule)) {
    const listenerId = r.ref(p.ListenerArn, `listener rule ${id}.ListenerArn`, TYPE.listener);
    if (!listenerIds.has(listenerId)) continue;
    rulesByListener.set(listenerId, [...(rulesByListener.get(listenerId) ?? []), readRule(r, id, p)]);
  }
  const listeners = listenerEntries.map(([id, p]) => readListener(r, id, p, rulesByListener.get(id) ?? []));
  const targetGroups: Record<string, TargetGroupModel> = {};
  for (const [id, p] of r.ofType(TYPE.targetGroup)) targetGroups[id] = readTargetGroup(r, id, p);
  const webAcl = options.webAcl === false ? undefined : readWebAcl(r, lbId);
  return {
    logicalId: lbId,
    idleTimeoutSeconds: numberAttribute(r, lbAttrs, LB.idleTimeoutSeconds, LOAD_BALANCER_DEFAULTS.idleTimeoutSeconds, `load balancer ${lbId}`),
    dropInvalidHeaderFields: booleanAttribute(lbAttrs, LB.dropInvalidHeaderFields, LOAD_BALANCER_DEFAULTS.dropInvalidHeaderFields),
    desyncMitigationMode: oneOf(r, lbAttrs.get(LB.desyncMitigationMode) ?? LOAD_BALANCER_DEFAULTS.desyncMitigationMode, ALB_DESYNC_MITIGATION_MODES, `load balancer ${lbId} desync mode`),
    http2Enabled: booleanAttribute(lbAttrs, LB.http2Enabled, LOAD_BALANCER_DEFAULTS.http2Enabled),
    listeners,
    targetGroups,
    ...(webAcl ? { webAcl } : {}),
  };
}

/** Reads and parses a synthesized template file (e.g. `cdk.out/Albatross.template.json`). */
export function readTemplateFile(path: string, options: Omit<LoadModelOptions, 'source'> = {}): LoadBalancerModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TemplateError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); run \`npx cdk synth\` first`);
  }
  let template: unknown;
  try {
    template = JSON.parse(text);
  } catch (error) {
    throw new TemplateError(`${path}: is not valid JSON (${(error as Error).message})`);
  }
  return loadModelFromTemplate(template, { ...options, source: path });
}
