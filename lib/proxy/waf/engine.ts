/**
 * Evaluates a web ACL the way WAF does: rules in priority order, Count rules counted and passed
 * over, the first Block or Allow ends the evaluation, else the default action. Statements are
 * compiled into closures once, at start; a request costs a few string checks per rule and, for a
 * rate-based rule, one map lookup.
 */
import { isIP } from 'node:net';
import { RequestFacts } from '../contracts';
import { WAF_ALB_BODY_INSPECTION_BYTES } from '../../waf/content-length';
import { WafAction, WafField, WafHeader, WafRuleModel, WafStatement, WafTransformation, WebAclModel } from './model';
import { RateTracker } from './rate';
import { compileTransformations } from './transform';

/** A request as WAF inspects it. */
export interface WafRequest extends RequestFacts {
  /** Bytes of body: the declared Content-Length, or what was peeked (past the inspection limit: more than it). */
  readonly bodySize: number;
}

/** What the web ACL decided. */
export interface WafVerdict {
  readonly action: Extract<WafAction, { type: 'allow' | 'block' }>;
  /** The terminating rule (`Default_Action` for the default action, as WAF's logs name it). */
  readonly rule: string;
  /** Count rules that matched, in order. */
  readonly counted: readonly string[];
  /** Headers for the forwarded request (Count and Allow `InsertHeaders`). */
  readonly insertHeaders: readonly WafHeader[];
}

/** WAF's name for the default action in its logs. */
export const DEFAULT_ACTION_RULE = 'Default_Action';

type Matcher = (req: WafRequest) => boolean;

const NOTHING: readonly never[] = Object.freeze([]);

function headerValue(req: WafRequest, name: string): string {
  const value = req.headers[name];
  return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
}

/** The component a statement looks at, as text; the body is only ever measured (size constraints). */
function fieldValue(field: WafField): (req: WafRequest) => string {
  switch (field.type) {
    case 'uri-path':
      return (req) => req.path;
    case 'query-string':
      return (req) => req.query;
    case 'method':
      return (req) => req.method;
    case 'single-header':
      return (req) => headerValue(req, field.name);
    case 'body':
      throw new Error('the body is only measured');
  }
}

function comparator(operator: string, limit: number): (size: number) => boolean {
  switch (operator) {
    case 'EQ':
      return (size) => size === limit;
    case 'NE':
      return (size) => size !== limit;
    case 'LE':
      return (size) => size <= limit;
    case 'LT':
      return (size) => size < limit;
    case 'GE':
      return (size) => size >= limit;
    default:
      return (size) => size > limit;
  }
}

const WORD = /[A-Za-z0-9_]/;

function containsWord(value: string, search: string): boolean {
  for (let i = value.indexOf(search); i >= 0; i = value.indexOf(search, i + 1)) {
    const before = i === 0 ? '' : value[i - 1];
    const after = value[i + search.length] ?? '';
    if (!WORD.test(before) && !WORD.test(after)) return true;
  }
  return false;
}

function positional(constraint: string, search: string): (value: string) => boolean {
  switch (constraint) {
    case 'EXACTLY':
      return (v) => v === search;
    case 'STARTS_WITH':
      return (v) => v.startsWith(search);
    case 'ENDS_WITH':
      return (v) => v.endsWith(search);
    case 'CONTAINS':
      return (v) => v.includes(search);
    default:
      return (v) => containsWord(v, search);
  }
}

/**
 * A size constraint on the body: WAF sees at most the first 8 KB behind an ALB; a larger body is
 * oversize, and OversizeHandling decides (CONTINUE: measure the 8 KB it has).
 */
function bodySize(statement: Extract<WafStatement, { type: 'size' }>, oversize: string): Matcher {
  const limit = WAF_ALB_BODY_INSPECTION_BYTES;
  const test = comparator(statement.operator, statement.size);
  return (req) => {
    if (req.bodySize > limit && oversize !== 'CONTINUE') return oversize === 'MATCH';
    return test(Math.min(req.bodySize, limit));
  };
}

type Getter = (req: WafRequest) => string;

/**
 * The transformed value of a field, computed once per request however many statements read it
 * (the three path rate limits all decode and normalize the path). Evaluation is synchronous and
 * each request is a new object, so the last request's value is the whole cache.
 */
function memoized(get: Getter): Getter {
  let lastRequest: WafRequest | undefined;
  let lastValue = '';
  return (req) => {
    if (req !== lastRequest) {
      lastValue = get(req);
      lastRequest = req;
    }
    return lastValue;
  };
}

/** Transformed field values shared by the statements of one engine, by field and transformations. */
export type ValueCache = Map<string, Getter>;

function transformedValue(field: WafField, transformations: readonly WafTransformation[], cache: ValueCache): Getter {
  const key = JSON.stringify([field, transformations]);
  let getter = cache.get(key);
  if (getter === undefined) {
    const value = fieldValue(field);
    const t = compileTransformations(transformations);
    getter = memoized((req) => t(value(req)));
    cache.set(key, getter);
  }
  return getter;
}

export function compileStatement(statement: WafStatement, cache: ValueCache = new Map()): Matcher {
  switch (statement.type) {
    case 'and': {
      const parts = statement.statements.map((x) => compileStatement(x, cache));
      return (req) => parts.every((m) => m(req));
    }
    case 'or': {
      const parts = statement.statements.map((x) => compileStatement(x, cache));
      return (req) => parts.some((m) => m(req));
    }
    case 'not': {
      const inner = compileStatement(statement.statement, cache);
      return (req) => !inner(req);
    }
    case 'size': {
      if (statement.field.type === 'body') return bodySize(statement, statement.field.oversize);
      const value = transformedValue(statement.field, statement.transformations, cache);
      const test = comparator(statement.operator, statement.size);
      // Latin-1 strings: one character per byte.
      return (req) => test(value(req).length);
    }
    case 'byte-match': {
      const value = transformedValue(statement.field, statement.transformations, cache);
      const test = positional(statement.constraint, statement.search);
      return (req) => test(value(req));
    }
    case 'regex': {
      const value = transformedValue(statement.field, statement.transformations, cache);
      const patterns = statement.patterns.map((p) => new RegExp(p));
      if (patterns.length === 1) return (req) => patterns[0].test(value(req));
      return (req) => {
        const v = value(req);
        return patterns.some((p) => p.test(v));
      };
    }
  }
}

/** IPv4 clients of a dual-stack listener arrive as `::ffff:a.b.c.d`; WAF sees the IPv4 address. */
function clientIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** How one rule votes: `undefined` (no match), or its action. */
type CompiledRule = (req: WafRequest, now: number) => WafAction | undefined;

interface Accumulator {
  counted: string[] | undefined;
  headers: WafHeader[] | undefined;
}

function rateRule(rule: WafRuleModel & { match: { type: 'rate' } }, cache: ValueCache): CompiledRule {
  const { limit, windowSeconds, key } = rule.match;
  const tracker = new RateTracker(windowSeconds);
  const scope = rule.match.scopeDown ? compileStatement(rule.match.scopeDown, cache) : undefined;
  return (req, now) => {
    if (scope && !scope(req)) return undefined;
    let k: string;
    if (key.type === 'ip') k = clientIp(req.sourceIp);
    else if (key.type === 'constant') k = '';
    else {
      const first = headerValue(req, key.header).split(',')[0].trim();
      if (isIP(first) === 0) return key.fallback === 'MATCH' ? rule.action : undefined;
      k = first;
    }
    return tracker.hit(k, now) > limit ? rule.action : undefined;
  };
}

/** Applies a matched rule's action: Count accumulates and lets evaluation go on; Block/Allow end it. */
function terminal(name: string, action: WafAction, acc: Accumulator): boolean {
  if (action.type === 'block') return true;
  if (action.insertHeaders.length > 0) (acc.headers ??= []).push(...action.insertHeaders);
  if (action.type === 'count') (acc.counted ??= []).push(name);
  return action.type === 'allow';
}

function statementMeasuresBody(s: WafStatement): boolean {
  if (s.type === 'and' || s.type === 'or') return s.statements.some(statementMeasuresBody);
  if (s.type === 'not') return statementMeasuresBody(s.statement);
  return s.field.type === 'body';
}

function ruleMeasuresBody(rule: WafRuleModel): boolean {
  const m = rule.match;
  if (m.type === 'statement') return statementMeasuresBody(m.statement);
  if (m.type === 'rate') return m.scopeDown !== undefined && statementMeasuresBody(m.scopeDown);
  return (m.scopeDown !== undefined && statementMeasuresBody(m.scopeDown)) || m.rules.some(ruleMeasuresBody);
}

/** Per rule and action, how many requests matched (the default action under `Default_Action`). */
export type WafCounts = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Match counts of one rule, plain numbers on the hot path; read at scrape time. */
interface RuleCounts {
  block: number;
  count: number;
  allow: number;
}

interface Compiled {
  readonly name: string;
  readonly vote: CompiledRule;
  readonly counts: RuleCounts;
}

/** A compiled web ACL with its rate trackers and match counts. */
export class WafEngine {
  /** Whether a rule measures the body: requests without Content-Length then have theirs peeked. */
  readonly inspectsBody: boolean;
  private readonly rules: Compiled[];
  private readonly defaultCounts: RuleCounts = { block: 0, count: 0, allow: 0 };
  private readonly defaultVerdict: WafVerdict;
  private readonly values: ValueCache = new Map();

  constructor(readonly model: WebAclModel) {
    this.rules = model.rules.flatMap((rule) => this.compile(rule));
    this.inspectsBody = model.rules.some(ruleMeasuresBody);
    const action = model.defaultAction;
    this.defaultVerdict = { action: action.type === 'count' ? { type: 'allow', insertHeaders: [] } : action, rule: DEFAULT_ACTION_RULE, counted: NOTHING, insertHeaders: action.type === 'block' ? NOTHING : action.insertHeaders };
  }

  private compile(rule: WafRuleModel): Compiled[] {
    const counts = (): RuleCounts => ({ block: 0, count: 0, allow: 0 });
    const match = rule.match;
    if (match.type === 'rate') return [{ name: rule.name, vote: rateRule({ ...rule, match }, this.values), counts: counts() }];
    if (match.type === 'statement') {
      const m = compileStatement(match.statement, this.values);
      return [{ name: rule.name, vote: (req) => (m(req) ? rule.action : undefined), counts: counts() }];
    }
    // A group's rules are evaluated in place; its scope-down statement guards each of them.
    const scope = match.scopeDown ? compileStatement(match.scopeDown, this.values) : undefined;
    return match.rules.map((inner) => {
      const m = compileStatement((inner.match as { statement: WafStatement }).statement, this.values);
      return { name: inner.name, vote: (req: WafRequest) => ((!scope || scope(req)) && m(req) ? inner.action : undefined), counts: counts() };
    });
  }

  /** Decides on one request at `now` (ms): counts rate-based rules and match counts as it goes. */
  evaluate(req: WafRequest, now: number): WafVerdict {
    let acc: Accumulator | undefined;
    for (const rule of this.rules) {
      const action = rule.vote(req, now);
      if (action === undefined) continue;
      rule.counts[action.type]++;
      acc ??= { counted: undefined, headers: undefined };
      if (terminal(rule.name, action, acc)) return this.verdict(rule.name, action as WafVerdict['action'], acc);
    }
    this.defaultCounts[this.defaultVerdict.action.type]++;
    if (acc === undefined || (acc.counted === undefined && acc.headers === undefined)) return this.defaultVerdict;
    return this.verdict(DEFAULT_ACTION_RULE, this.defaultVerdict.action, acc, this.defaultVerdict.insertHeaders);
  }

  /** rule → action → matches so far (actions never taken left out), for /metrics. */
  get counts(): WafCounts {
    const all = new Map<string, Map<string, number>>();
    const add = (name: string, c: RuleCounts): void => {
      const byAction = new Map(Object.entries(c).filter(([, n]) => n > 0));
      if (byAction.size > 0) all.set(name, byAction);
    };
    for (const rule of this.rules) add(rule.name, rule.counts);
    add(DEFAULT_ACTION_RULE, this.defaultCounts);
    return all;
  }

  private verdict(rule: string, action: WafVerdict['action'], acc: Accumulator, extra: readonly WafHeader[] = NOTHING): WafVerdict {
    const headers = action.type === 'block' ? NOTHING : [...(acc.headers ?? NOTHING), ...extra];
    return { action, rule, counted: acc.counted ?? NOTHING, insertHeaders: headers };
  }
}
