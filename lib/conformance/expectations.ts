/**
 * What a deployment of the template must do, read from the synthesized template only: the proxy's
 * model of the load balancer, the HTTPS listener's TLS versions and the web ACL's declared-body
 * limit. Nothing here repeats a value of the config.
 */
import { LoadBalancerModel, ListenerModel } from '../proxy/model';
import { defaultGroup, examplePath, fixedResponseRule, httpsListener } from '../proxy/model-lookup';
import { loadModelFromTemplate, TemplateError } from '../proxy/template';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** A forward rule of the HTTPS listener: its path pattern, a path it matches, the group's name. */
export interface ForwardExpectation {
  readonly pattern: string;
  readonly path: string;
  readonly group: string;
  /** lb_cookie stickiness on the group: answers set AWSALB and a client holding it stays on one target. */
  readonly sticky: boolean;
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
  readonly defaultGroup: string;
  readonly forwards: ForwardExpectation[];
  readonly fixed: ReturnType<typeof fixedResponseRule>;
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

function forwards(model: LoadBalancerModel, https: ListenerModel): ForwardExpectation[] {
  return https.rules.flatMap((rule) => {
    const pattern = rule.conditions.find((c) => c.field === 'path-pattern')?.values[0];
    if (rule.action.type !== 'forward' || typeof pattern !== 'string' || rule.conditions.length !== 1) return [];
    const group = model.targetGroups[rule.action.targetGroups[0].targetGroup];
    return [{ pattern, path: examplePath(pattern), group: group.name, sticky: group.stickiness.enabled && group.stickiness.type === 'lb_cookie' }];
  });
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
  return {
    model,
    https,
    httpPort: http.port,
    defaultGroup: defaultGroup(model),
    forwards: forwards(model, https),
    fixed: fixedResponseRule(model),
    tls: policy && versions ? { policy, ...versions } : undefined,
    bodyLimit: bodyLimit(model),
  };
}
