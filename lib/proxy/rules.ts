/**
 * Listener rule evaluation, as the ALB does it: rules by ascending priority, the first rule whose
 * conditions ALL match wins (values within one condition are ORed), else the default action.
 * Patterns are compiled once per listener model (cached by identity), never per request.
 */
import { IncomingHttpHeaders } from 'node:http';
import { CidrBlock, inAnyCidr, parseCidr } from './cidr';
import { EvaluateListener, RequestFacts } from './contracts';
import { ActionModel, ConditionModel, ListenerModel } from './model';
import { compileWildcard, compileWildcards } from './wildcard';

type Matcher = (request: RequestFacts) => boolean;

interface CompiledRule {
  readonly matchers: Matcher[];
  readonly action: ActionModel;
}

interface CompiledListener {
  readonly rules: CompiledRule[];
  readonly defaultAction: ActionModel;
}

const compiled = new WeakMap<ListenerModel, CompiledListener>();

/** The host name of a request (Host, or `:authority` on HTTP/2) without the port. */
export function requestHostname(headers: IncomingHttpHeaders): string {
  const raw = headers.host ?? (headers[':authority'] as string | undefined) ?? '';
  if (raw.startsWith('[')) {
    const end = raw.indexOf(']');
    return end < 0 ? raw : raw.slice(0, end + 1);
  }
  const colon = raw.indexOf(':');
  return colon < 0 ? raw : raw.slice(0, colon);
}

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Splits a raw query string into raw (not decoded) key/value pairs; a bare `k` has value ''. */
function queryPairs(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
  });
}

function compileQueryString(values: readonly { readonly key?: string; readonly value: string }[]): Matcher {
  const pairs = values.map((v) => ({
    key: v.key === undefined ? undefined : compileWildcard(v.key, true),
    value: compileWildcard(v.value, true),
  }));
  return (request) => {
    const actual = queryPairs(request.query);
    for (const [key, value] of actual) {
      for (const pair of pairs) {
        if (pair.key === undefined) {
          // No key: the value may belong to any parameter.
          if (pair.value.test(value)) return true;
        } else if (pair.key.test(key) && pair.value.test(value)) {
          return true;
        }
      }
    }
    return false;
  };
}

function compileCondition(condition: ConditionModel): Matcher {
  switch (condition.field) {
    case 'path-pattern': {
      const re = compileWildcards(condition.values, false);
      return (request) => re.test(request.path);
    }
    case 'host-header': {
      const re = compileWildcards(condition.values, true);
      return (request) => re.test(requestHostname(request.headers));
    }
    case 'http-header': {
      const name = condition.headerName.toLowerCase();
      const re = compileWildcards(condition.values, true);
      return (request) => headerValues(request.headers, name).some((v) => re.test(v));
    }
    case 'http-request-method': {
      const methods = new Set(condition.values);
      return (request) => methods.has(request.method);
    }
    case 'query-string':
      return compileQueryString(condition.values);
    case 'source-ip': {
      const blocks: CidrBlock[] = condition.values.map(parseCidr);
      return (request) => inAnyCidr(request.sourceIp, blocks);
    }
    default: {
      const unknown: never = condition;
      throw new Error(`unsupported rule condition ${JSON.stringify(unknown)}`);
    }
  }
}

/** Compiles a listener's rules; done once per listener model object. */
export function compileListener(listener: ListenerModel): CompiledListener {
  const rules = [...listener.rules]
    .sort((a, b) => a.priority - b.priority)
    .map((rule) => ({ matchers: rule.conditions.map(compileCondition), action: rule.action }));
  return { rules, defaultAction: listener.defaultAction };
}

function compiledFor(listener: ListenerModel): CompiledListener {
  let entry = compiled.get(listener);
  if (entry === undefined) {
    entry = compileListener(listener);
    compiled.set(listener, entry);
  }
  return entry;
}

/** The action for a request: first rule (by priority) whose conditions all match, else the default. */
export const evaluateListener: EvaluateListener = (listener, request) => {
  const { rules, defaultAction } = compiledFor(listener);
  outer: for (let i = 0; i < rules.length; i++) {
    const matchers = rules[i].matchers;
    for (let j = 0; j < matchers.length; j++) {
      if (!matchers[j](request)) continue outer;
    }
    return rules[i].action;
  }
  return defaultAction;
};

type RedirectAction = Extract<ActionModel, { type: 'redirect' }>;

const PLACEHOLDER = /#\{(protocol|host|port|path|query)\}/g;

/**
 * The `Location` of a redirect action, built as the ALB builds it: `protocol://host:port/path?query`.
 * The ALB always writes the port, even the default one (`https://example.com:443/a?b`); `#{path}`
 * is the original path without its leading `/`; `?` is added only when the query is not empty.
 * `listenerPort` and the resolved port are template ports; `portMap` maps them to local ports.
 */
export function renderRedirect(
  action: RedirectAction,
  request: Pick<RequestFacts, 'path' | 'query' | 'headers'>,
  listenerPort: number,
  protocol: 'HTTP' | 'HTTPS',
  portMap?: Readonly<Record<number, number>>,
): string {
  const original: Record<string, string> = {
    protocol: protocol.toLowerCase(),
    host: requestHostname(request.headers),
    port: String(listenerPort),
    path: request.path.startsWith('/') ? request.path.slice(1) : request.path,
    query: request.query,
  };
  const fill = (component: string): string => component.replace(PLACEHOLDER, (_m, key: string) => original[key]);
  const scheme = fill(action.protocol).toLowerCase();
  const templatePort = Number(fill(action.port));
  const port = portMap?.[templatePort] ?? templatePort;
  const path = fill(action.path);
  const query = fill(action.query);
  return `${scheme}://${fill(action.host)}:${port}${path.startsWith('/') ? path : `/${path}`}${query === '' ? '' : `?${query}`}`;
}
