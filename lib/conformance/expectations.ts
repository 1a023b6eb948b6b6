/**
 * What a deployment of the template must do, read from the synthesized template only: the proxy's
 * model of the load balancer, the HTTPS listener's TLS versions and the web ACL's declared-body
 * limit. Nothing here repeats a value of the config.
 */
import { ConditionModel, LoadBalancerModel, ListenerModel, RuleModel } from '../proxy/model';
import { defaultGroup, examplePath, fixedResponseRule, httpsListener, weightedGroups } from '../proxy/model-lookup';
import { evaluateListener } from '../proxy/rules';
import { readServices, ServiceModel } from '../proxy/services';
import { loadModelFromTemplate, TemplateError } from '../proxy/template';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * A forward rule of the HTTPS listener and a request that reaches it: its conditions in words
 * (`/api/*`, `Host api.*`), a path and headers that match them and no rule before it, the group.
 */
export interface ForwardExpectation {
  readonly pattern: string;
  readonly path: string;
  /** Headers the request needs (a Host for a host-header rule). */
  readonly headers: Record<string, string>;
  /** The groups the rule forwards to (those of weight above 0), heaviest first. */
  readonly groups: string[];
  /** lb_cookie stickiness on every one of its groups: answers set AWSALB and a client holding it stays on one target. */
  readonly sticky: boolean;
}

/** The HTTPS listener's default forward: its groups and weights, and its target group stickiness. */
export interface DefaultForwardExpectation {
  readonly groups: { readonly name: string; readonly weight: number }[];
  readonly groupStickinessSeconds?: number;
}

/** The web ACL rule that blocks a declared `Content-Length` over the body limit. */
export interface BodyLimitExpectation {
  readonly rule: string;
  /** A Content-Length value the rule's pattern matches (the smallest power of ten over the limit). */
  readonly overLimit: number;
  /** The status WAF answers with: the rule's custom response code, or 403. */
  readonly status: number;
}

export interface Expectations {
  readonly model: LoadBalancerModel;
  readonly https: ListenerModel;
  /** Template port of the HTTP listener, which redirects to HTTPS. */
  readonly httpPort: number;
  /** The default forward's heaviest group (the one the draining check drains a target of); absent when the default action is no forward. */
  readonly defaultGroup?: string;
  /** Absent when the default action is a fixed response. */
  readonly defaultForward?: DefaultForwardExpectation;
  readonly forwards: ForwardExpectation[];
  /** The template's services (ECS services by target group) and their desired counts. */
  readonly services: ServiceModel[];
  /** The first fixed-response rule, absent when there is none. */
  readonly fixed?: ReturnType<typeof fixedResponseRule>;
  /** The listener's SslPolicy and the versions it accepts and refuses; absent for a policy this suite does not know. */
  readonly tls?: { readonly policy: string; readonly accepted: TlsVersion[]; readonly refused: TlsVersion[] };
  readonly bodyLimit?: BodyLimitExpectation;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * TLS versions of an ELB security policy, from its name (see "Security policies for your
 * Application Load Balancer" in the ELB user guide): `TLS13-1-N` accepts 1.N to 1.3,
 * `TLS-1-N` accepts 1.N to 1.2. Only 1.2 and 1.3 are probed: a client refusing 1.0/1.1 itself
 * (OpenSSL's security level) would make a "refused" check pass for the wrong reason.
 */
export function tlsVersions(policy: string): { accepted: TlsVersion[]; refused: TlsVersion[] } | undefined {
  const tls13 = /^ELBSecurityPolicy-TLS13-1-([0-3])-/.exec(policy);
  const tls12 = /^ELBSecurityPolicy-TLS-1-([0-2])-/.exec(policy);
  if (tls13) return Number(tls13[1]) <= 2 ? { accepted: ['TLSv1.2', 'TLSv1.3'], refused: [] } : { accepted: ['TLSv1.3'], refused: ['TLSv1.2'] };
  if (tls12) return { accepted: ['TLSv1.2'], refused: ['TLSv1.3'] };
  return undefined;
}

/** The body-size rule of the web ACL the proxy read: a regex match on the `content-length` header that blocks. */
function bodyLimit(model: LoadBalancerModel): BodyLimitExpectation | undefined {
  for (const rule of model.webAcl?.rules ?? []) {
    const statement = rule.match.type === 'statement' ? rule.match.statement : undefined;
    if (rule.action.type !== 'block' || statement?.type !== 'regex' || statement.field.type !== 'single-header' || statement.field.name !== 'content-length') continue;
    const pattern = statement.patterns[0];
    // The pattern's first alternative is "more digits than the limit has" (lib/waf/content-length.ts).
    const digits = /\[0-9\]\{(\d+),\}/.exec(pattern);
    const overLimit = digits ? 10 ** Number(digits[1]) : NaN;
    if (!new RegExp(pattern).test(String(overLimit))) {
      throw new TemplateError(`web ACL rule ${rule.name}: cannot derive a Content-Length its pattern ${pattern} matches`);
    }
    return { rule: rule.name, overLimit, status: rule.action.response?.statusCode ?? 403 };
  }
  return undefined;
}

/** A host name a host-header pattern matches (`api.*` → `api.example`). */
export function exampleHost(pattern: string): string {
  return pattern.replace(/\*/g, 'example').replace(/\?/g, 'x');
}

type Probe = Pick<ForwardExpectation, 'pattern' | 'path' | 'headers'>;

/** A request meeting a rule's path-pattern and host-header conditions; other condition types are not probed. */
function probeFor(conditions: ConditionModel[]): Probe | undefined {
  const probe = { pattern: [] as string[], path: '/', headers: {} as Record<string, string> };
  for (const c of conditions) {
    if (c.field === 'path-pattern') {
      probe.path = examplePath(c.values[0]);
      probe.pattern.push(c.values[0]);
    } else if (c.field === 'host-header') {
      probe.headers.host = exampleHost(c.values[0]);
      probe.pattern.push(`Host ${c.values[0]}`);
    } else return undefined;
  }
  return { ...probe, pattern: probe.pattern.join(' ') };
}

/** The listener's own choice for the probe must be this rule: one that an earlier rule shadows is not probed. */
function reaches(https: ListenerModel, rule: RuleModel, probe: Probe): boolean {
  const q = probe.path.indexOf('?');
  const facts = { method: 'GET', path: q < 0 ? probe.path : probe.path.slice(0, q), query: q < 0 ? '' : probe.path.slice(q + 1), headers: { host: 'localhost', ...probe.headers }, sourceIp: '127.0.0.1' };
  return evaluateListener(https, facts) === rule.action;
}

function forwards(model: LoadBalancerModel, https: ListenerModel): ForwardExpectation[] {
  return https.rules.flatMap((rule) => {
    const probe = probeFor(rule.conditions);
    if (rule.action.type !== 'forward' || probe === undefined || !reaches(https, rule, probe)) return [];
    const groups = [...rule.action.targetGroups].filter((g) => g.weight > 0).sort((a, b) => b.weight - a.weight).map((g) => model.targetGroups[g.targetGroup]);
    return [{ ...probe, groups: groups.map((g) => g.name), sticky: groups.every((g) => g.stickiness.enabled && g.stickiness.type === 'lb_cookie') }];
  });
}

function defaultForward(model: LoadBalancerModel, https: ListenerModel): DefaultForwardExpectation | undefined {
  const action = https.defaultAction;
  if (action.type !== 'forward') return undefined;
  const groups = weightedGroups(model, action, 'the HTTPS default action');
  const seconds = action.type === 'forward' ? action.groupStickinessSeconds : undefined;
  return { groups, ...(seconds === undefined ? {} : { groupStickinessSeconds: seconds }) };
}

/** The expectations of a synthesized template; a template the proxy cannot read fails naming the resource. */
export function readExpectations(template: unknown, source = 'template'): Expectations {
  const model = loadModelFromTemplate(template, { source, onWarning: () => undefined });
  const https = httpsListener(model);
  const http = model.listeners.find((l) => l.protocol === 'HTTP' && l.defaultAction.type === 'redirect');
  if (!http) throw new TemplateError(`${source} has no HTTP listener redirecting to HTTPS`);
  const resources = (template as Json).Resources as Json;
  const listener = resources[https.logicalId];
  const policy = isObject(listener) && isObject(listener.Properties) && typeof listener.Properties.SslPolicy === 'string' ? listener.Properties.SslPolicy : undefined;
  const versions = policy ? tlsVersions(policy) : undefined;
  const byDefault = defaultForward(model, https);
  const fixed = https.rules.some((r) => r.action.type === 'fixed-response' && r.conditions.some((c) => c.field === 'path-pattern')) ? fixedResponseRule(model) : undefined;
  return {
    model,
    https,
    httpPort: http.port,
    ...(byDefault ? { defaultGroup: defaultGroup(model), defaultForward: byDefault } : {}),
    forwards: forwards(model, https),
    services: readServices(template, model, source),
    ...(fixed ? { fixed } : {}),
    tls: policy && versions ? { policy, ...versions } : undefined,
    bodyLimit: bodyLimit(model),
  };
}
