/**
 * Reads the `AWS::WAFv2::WebACL` associated with the load balancer (`AWS::WAFv2::WebACLAssociation`
 * with `ResourceArn: {Ref: <load balancer>}`) out of the synthesized template. A malformed web ACL
 * fails naming the resource and the rule; a statement, field, transformation or action the proxy
 * does not reproduce leaves its rule out, listed in `notEnforced` with the reason (bin/proxy.ts
 * logs one warning per entry at start).
 */
import { COMMON_RULE_SET, COMMON_RULE_SET_SIZE_RESTRICTIONS, COMMON_RULE_SET_UNPUBLISHED_RULES, SizeRestriction } from '../../waf/common-rule-set';
import { WAF_ALB_BODY_INSPECTION_BYTES } from '../../waf/content-length';
import { DEFAULT_RATE_LIMIT_WINDOW_SECONDS, isRateLimit, RATE_LIMIT_RANGE, RATE_LIMIT_WINDOWS_SECONDS } from '../../waf/rate-based';
import {
  ComparisonOperator,
  NotEnforced,
  OversizeHandling,
  PositionalConstraint,
  RateAggregateKey,
  SUPPORTED_TRANSFORMATIONS,
  WafAction,
  WafField,
  WafHeader,
  WafMatch,
  WafRuleModel,
  WafStatement,
  WafTransformation,
  WebAclModel,
} from './model';

type Json = Record<string, unknown>;

/** The template as the reader sees it: its resources, and how to fail naming the template. */
export interface WafTemplateSource {
  readonly resources: Readonly<Record<string, { readonly Type: string; readonly Properties: Json }>>;
  fail(message: string): never;
}

const TYPE = {
  webAcl: 'AWS::WAFv2::WebACL',
  association: 'AWS::WAFv2::WebACLAssociation',
  regexPatternSet: 'AWS::WAFv2::RegexPatternSet',
} as const;

/** WAF prefixes the names of headers it inserts into requests (Count/Allow `InsertHeaders`). */
const INSERTED_HEADER_PREFIX = 'x-amzn-waf-';
const CONTENT_TYPES: Record<string, string> = { TEXT_PLAIN: 'text/plain', TEXT_HTML: 'text/html', APPLICATION_JSON: 'application/json' };
const OPERATORS: readonly ComparisonOperator[] = ['EQ', 'NE', 'LE', 'LT', 'GE', 'GT'];
const CONSTRAINTS: readonly PositionalConstraint[] = ['EXACTLY', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'CONTAINS_WORD'];
const OVERSIZE: readonly OversizeHandling[] = ['CONTINUE', 'MATCH', 'NO_MATCH'];

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A valid construct the proxy does not reproduce: its rule is left out, with this reason. */
class NotReproduced extends Error {}

/** Reads one web ACL; `what` prefixes every failure so it names the resource and rule. */
class AclReader {
  constructor(
    private readonly t: WafTemplateSource,
    private readonly acl: Json,
    readonly what: string,
  ) {}

  fail(where: string, message: string): never {
    return this.t.fail(`${this.what}${where ? ` ${where}` : ''}: ${message}`);
  }

  object(value: unknown, where: string): Json {
    return isObject(value) ? value : this.fail(where, `must be an object (got ${JSON.stringify(value)})`);
  }

  string(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    return this.fail(where, `must be a literal string (got ${JSON.stringify(value)})`);
  }

  number(value: unknown, where: string): number {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isFinite(n) ? n : this.fail(where, `must be a number (got ${JSON.stringify(value)})`);
  }

  list(value: unknown, where: string): unknown[] {
    return Array.isArray(value) ? value : this.fail(where, `must be a list (got ${JSON.stringify(value)})`);
  }

  /** The only key of a one-of object (`{ByteMatchStatement: …}`, `{Block: {}}`). */
  only(value: unknown, where: string): [string, Json] {
    const o = this.object(value, where);
    const keys = Object.keys(o);
    if (keys.length !== 1) this.fail(where, `must have exactly one key (got ${keys.length === 0 ? 'none' : keys.join(', ')})`);
    return [keys[0], this.object(o[keys[0]] ?? {}, `${where}.${keys[0]}`)];
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
    const s = this.string(value, where);
    return (allowed as readonly string[]).includes(s) ? (s as T) : this.fail(where, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(s)})`);
  }

  headers(value: unknown, where: string, prefix = ''): WafHeader[] {
    if (value === undefined) return [];
    return this.list(value, where).map((h, i) => {
      const o = this.object(h, `${where}[${i}]`);
      return { name: `${prefix}${this.string(o.Name, `${where}[${i}].Name`)}`.toLowerCase(), value: this.string(o.Value, `${where}[${i}].Value`) };
    });
  }

  action(value: unknown, where: string): WafAction {
    const [kind, body] = this.only(value, where);
    const insert = (): WafHeader[] => {
      const handling = body.CustomRequestHandling === undefined ? {} : this.object(body.CustomRequestHandling, `${where}.${kind}.CustomRequestHandling`);
      return this.headers(handling.InsertHeaders, `${where}.${kind}.CustomRequestHandling.InsertHeaders`, INSERTED_HEADER_PREFIX);
    };
    if (kind === 'Allow') return { type: 'allow', insertHeaders: insert() };
    if (kind === 'Count') return { type: 'count', insertHeaders: insert() };
    if (kind === 'Block') return body.CustomResponse === undefined ? { type: 'block' } : { type: 'block', response: this.customResponse(body.CustomResponse, `${where}.Block.CustomResponse`) };
    if (kind === 'Captcha' || kind === 'Challenge') throw new NotReproduced(`the ${kind} action (a browser puzzle or token) is not reproduced`);
    return this.fail(where, `has an unknown action ${JSON.stringify(kind)} (Allow, Block, Count, Captcha or Challenge)`);
  }

  private customResponse(value: unknown, where: string) {
    const c = this.object(value, where);
    const statusCode = this.number(c.ResponseCode, `${where}.ResponseCode`);
    if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) this.fail(`${where}.ResponseCode`, `must be an HTTP status from 200 to 599 (got ${statusCode})`);
    const headers = this.headers(c.ResponseHeaders, `${where}.ResponseHeaders`);
    if (c.CustomResponseBodyKey === undefined) return { statusCode, headers };
    const key = this.string(c.CustomResponseBodyKey, `${where}.CustomResponseBodyKey`);
    const bodies = isObject(this.acl.CustomResponseBodies) ? this.acl.CustomResponseBodies : {};
    const body = isObject(bodies[key]) ? (bodies[key] as Json) : this.fail(`${where}.CustomResponseBodyKey`, `names ${JSON.stringify(key)}, which is not in the web ACL's CustomResponseBodies`);
    const contentType = CONTENT_TYPES[this.oneOf(body.ContentType, Object.keys(CONTENT_TYPES), `CustomResponseBodies.${key}.ContentType`)];
    return { statusCode, headers, body: { contentType, content: this.string(body.Content, `CustomResponseBodies.${key}.Content`) } };
  }

  field(value: unknown, where: string): WafField {
    const [kind, body] = this.only(value, where);
    switch (kind) {
      case 'UriPath':
        return { type: 'uri-path' };
      case 'QueryString':
        return { type: 'query-string' };
      case 'Method':
        return { type: 'method' };
      case 'SingleHeader':
        return { type: 'single-header', name: this.string(body.Name, `${where}.SingleHeader.Name`).toLowerCase() };
      case 'Body':
        return { type: 'body', oversize: body.OversizeHandling === undefined ? 'CONTINUE' : this.oneOf(body.OversizeHandling, OVERSIZE, `${where}.Body.OversizeHandling`) };
      default:
        throw new NotReproduced(`FieldToMatch ${kind} is not reproduced (UriPath, QueryString, Method, SingleHeader and Body are)`);
    }
  }

  transformations(value: unknown, where: string): WafTransformation[] {
    const list = this.list(value, where).map((t, i) => {
      const o = this.object(t, `${where}[${i}]`);
      return { priority: this.number(o.Priority, `${where}[${i}].Priority`), type: this.string(o.Type, `${where}[${i}].Type`) };
    });
    if (list.length === 0) this.fail(where, 'must have at least one transformation (NONE for none)');
    return list
      .sort((a, b) => a.priority - b.priority)
      .map(({ type }) => {
        if ((SUPPORTED_TRANSFORMATIONS as readonly string[]).includes(type)) return type as WafTransformation;
        throw new NotReproduced(`text transformation ${type} is not reproduced (${SUPPORTED_TRANSFORMATIONS.join(', ')} are)`);
      });
  }

  /** A statement that may sit anywhere (not rate-based, not a managed group). */
  statement(value: unknown, where: string): WafStatement {
    const [kind, s] = this.only(value, where);
    const at = `${where}.${kind}`;
    if (kind !== 'SizeConstraintStatement' && isObject(s.FieldToMatch) && 'Body' in s.FieldToMatch) {
      // The proxy measures bodies (peeking at most 8 KB) but does not match their content.
      throw new NotReproduced(`${kind} on the Body is not reproduced (size constraints on it are)`);
    }
    switch (kind) {
      case 'ByteMatchStatement':
        return { type: 'byte-match', field: this.field(s.FieldToMatch, `${at}.FieldToMatch`), transformations: this.transformations(s.TextTransformations, `${at}.TextTransformations`), constraint: this.oneOf(s.PositionalConstraint, CONSTRAINTS, `${at}.PositionalConstraint`), search: this.searchString(s, at) };
      case 'SizeConstraintStatement':
        return { type: 'size', field: this.field(s.FieldToMatch, `${at}.FieldToMatch`), transformations: this.transformations(s.TextTransformations, `${at}.TextTransformations`), operator: this.oneOf(s.ComparisonOperator, OPERATORS, `${at}.ComparisonOperator`), size: this.number(s.Size, `${at}.Size`) };
      case 'RegexMatchStatement':
        return { type: 'regex', field: this.field(s.FieldToMatch, `${at}.FieldToMatch`), transformations: this.transformations(s.TextTransformations, `${at}.TextTransformations`), patterns: [this.regex(s.RegexString, `${at}.RegexString`)] };
      case 'RegexPatternSetReferenceStatement':
        return { type: 'regex', field: this.field(s.FieldToMatch, `${at}.FieldToMatch`), transformations: this.transformations(s.TextTransformations, `${at}.TextTransformations`), patterns: this.patternSet(s.Arn) };
      case 'AndStatement':
      case 'OrStatement': {
        const statements = this.list(s.Statements, `${at}.Statements`).map((x, i) => this.statement(x, `${at}.Statements[${i}]`));
        if (statements.length < 2) this.fail(`${at}.Statements`, 'must have at least two statements');
        return { type: kind === 'AndStatement' ? 'and' : 'or', statements };
      }
      case 'NotStatement':
        return { type: 'not', statement: this.statement(s.Statement, `${at}.Statement`) };
      case 'RateBasedStatement':
      case 'ManagedRuleGroupStatement':
        return this.fail(at, `cannot be nested (only a rule's top-level statement can be a ${kind})`);
      default:
        throw new NotReproduced(`${kind} is not reproduced (byte match, size constraint, regex match, regex pattern set, and/or/not, rate-based and the Core rule set's size restrictions are)`);
    }
  }

  private searchString(s: Json, at: string): string {
    if (s.SearchString !== undefined) return Buffer.from(this.string(s.SearchString, `${at}.SearchString`), 'utf8').toString('latin1');
    if (s.SearchStringBase64 !== undefined) return Buffer.from(this.string(s.SearchStringBase64, `${at}.SearchStringBase64`), 'base64').toString('latin1');
    return this.fail(at, 'has neither SearchString nor SearchStringBase64');
  }

  /** A pattern WAF accepts but JavaScript cannot compile (PCRE-only syntax) is not reproduced. */
  private regex(value: unknown, where: string): string {
    const pattern = this.string(value, where);
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new NotReproduced(`its regular expression ${JSON.stringify(pattern)} is not one JavaScript can evaluate (${(error as Error).message})`);
    }
    return pattern;
  }

  private patternSet(value: unknown): string[] {
    const id = isObject(value) && Array.isArray(value['Fn::GetAtt']) && value['Fn::GetAtt'][1] === 'Arn' ? String(value['Fn::GetAtt'][0]) : undefined;
    const set = id === undefined ? undefined : this.t.resources[id];
    if (set?.Type !== TYPE.regexPatternSet) throw new NotReproduced(`its regex pattern set ${JSON.stringify(value)} is not an ${TYPE.regexPatternSet} of this template`);
    const list = this.list(set.Properties.RegularExpressionList, `(regex pattern set ${id}).RegularExpressionList`);
    return list.map((p, i) => this.regex(p, `(regex pattern set ${id}).RegularExpressionList[${i}]`));
  }

  rate(s: Json, at: string): WafMatch {
    const limit = this.number(s.Limit, `${at}.Limit`);
    if (!isRateLimit(limit)) this.fail(`${at}.Limit`, `must be an integer from ${RATE_LIMIT_RANGE.min} to ${RATE_LIMIT_RANGE.max} (got ${limit})`);
    const windowSeconds = s.EvaluationWindowSec === undefined ? DEFAULT_RATE_LIMIT_WINDOW_SECONDS : this.number(s.EvaluationWindowSec, `${at}.EvaluationWindowSec`);
    if (!(RATE_LIMIT_WINDOWS_SECONDS as readonly number[]).includes(windowSeconds)) this.fail(`${at}.EvaluationWindowSec`, `must be one of ${RATE_LIMIT_WINDOWS_SECONDS.join(', ')} (got ${windowSeconds})`);
    const scopeDown = s.ScopeDownStatement === undefined ? undefined : this.statement(s.ScopeDownStatement, `${at}.ScopeDownStatement`);
    return { type: 'rate', limit, windowSeconds, key: this.aggregateKey(s, at), ...(scopeDown ? { scopeDown } : {}) };
  }

  private aggregateKey(s: Json, at: string): RateAggregateKey {
    const type = this.oneOf(s.AggregateKeyType ?? 'IP', ['IP', 'FORWARDED_IP', 'CONSTANT', 'CUSTOM_KEYS'] as const, `${at}.AggregateKeyType`);
    if (type === 'IP') return { type: 'ip' };
    if (type === 'CONSTANT') return { type: 'constant' };
    if (type === 'CUSTOM_KEYS') throw new NotReproduced('AggregateKeyType CUSTOM_KEYS is not reproduced (IP, FORWARDED_IP and CONSTANT are)');
    const config = this.object(s.ForwardedIPConfig, `${at}.ForwardedIPConfig`);
    return {
      type: 'forwarded-ip',
      header: this.string(config.HeaderName, `${at}.ForwardedIPConfig.HeaderName`).toLowerCase(),
      fallback: this.oneOf(config.FallbackBehavior, ['MATCH', 'NO_MATCH'] as const, `${at}.ForwardedIPConfig.FallbackBehavior`),
    };
  }
}

/** The Core rule set's size restrictions as statements: a part over its documented size. */
function sizeRestriction(r: SizeRestriction): WafStatement {
  const field: WafField =
    r.part === 'body' ? { type: 'body', oversize: 'MATCH' } : r.part === 'cookie-header' ? { type: 'single-header', name: 'cookie' } : { type: r.part };
  // A body over the inspection limit is oversize, and the rule matches it (its "over 8 KB").
  const size = r.part === 'body' ? WAF_ALB_BODY_INSPECTION_BYTES : r.maxBytes;
  return { type: 'size', field, transformations: ['NONE'], operator: 'GT', size };
}

interface RuleContext {
  readonly name: string;
  readonly priority: number;
  readonly where: string;
}

/** A managed rule group: the Core rule set's size restrictions with the template's overrides; others not at all. */
function managedGroup(a: AclReader, rule: Json, s: Json, ctx: RuleContext, notEnforced: NotEnforced[]): WafRuleModel | undefined {
  const at = `${ctx.where}.Statement.ManagedRuleGroupStatement`;
  const vendor = a.string(s.VendorName, `${at}.VendorName`);
  const group = a.string(s.Name, `${at}.Name`);
  const [override] = a.only(rule.OverrideAction ?? { None: {} }, `${ctx.where}.OverrideAction`);
  if (override !== 'None' && override !== 'Count') a.fail(`${ctx.where}.OverrideAction`, `must be None or Count (got ${override})`);
  if (vendor !== COMMON_RULE_SET.vendor || group !== COMMON_RULE_SET.name) {
    notEnforced.push({ rule: ctx.name, reason: `managed rule group ${vendor}/${group}: its rules are not published, none is evaluated locally` });
    return undefined;
  }
  const overrides = new Map<string, WafAction>();
  for (const [i, o] of (s.RuleActionOverrides === undefined ? [] : a.list(s.RuleActionOverrides, `${at}.RuleActionOverrides`)).entries()) {
    const entry = a.object(o, `${at}.RuleActionOverrides[${i}]`);
    const name = a.string(entry.Name, `${at}.RuleActionOverrides[${i}].Name`);
    try {
      overrides.set(name, a.action(entry.ActionToUse, `${at}.RuleActionOverrides[${i}].ActionToUse`));
    } catch (error) {
      if (!(error instanceof NotReproduced)) throw error;
      notEnforced.push({ rule: `${ctx.name}/${name}`, reason: error.message });
      overrides.set(name, { type: 'count', insertHeaders: [] });
    }
  }
  // ExcludedRules, the older form of an override to Count.
  for (const [i, e] of (s.ExcludedRules === undefined ? [] : a.list(s.ExcludedRules, `${at}.ExcludedRules`)).entries()) {
    overrides.set(a.string(a.object(e, `${at}.ExcludedRules[${i}]`).Name, `${at}.ExcludedRules[${i}].Name`), { type: 'count', insertHeaders: [] });
  }
  const rules = COMMON_RULE_SET_SIZE_RESTRICTIONS.map((r): WafRuleModel => {
    const action = overrides.get(r.rule) ?? { type: 'block' };
    // OverrideAction Count: every rule of the group only counts.
    return { name: `${ctx.name}/${r.rule}`, priority: ctx.priority, action: override === 'Count' && action.type !== 'count' ? { type: 'count', insertHeaders: [] } : action, match: { type: 'statement', statement: sizeRestriction(r) } };
  });
  notEnforced.push({ rule: ctx.name, reason: `managed rule group ${vendor}/${group}: only ${COMMON_RULE_SET_SIZE_RESTRICTIONS.map((r) => r.rule).join(', ')} are evaluated locally; not ${COMMON_RULE_SET_UNPUBLISHED_RULES.join(', ')}` });
  const scopeDown = s.ScopeDownStatement === undefined ? undefined : a.statement(s.ScopeDownStatement, `${at}.ScopeDownStatement`);
  return { name: ctx.name, priority: ctx.priority, action: { type: 'count', insertHeaders: [] }, match: { type: 'group', vendor, group, rules, ...(scopeDown ? { scopeDown } : {}) } };
}

function readRule(a: AclReader, value: unknown, index: number, notEnforced: NotEnforced[]): WafRuleModel | undefined {
  const rule = a.object(value, `Rules[${index}]`);
  const name = a.string(rule.Name, `Rules[${index}].Name`);
  const where = `rule ${name}`;
  const ctx: RuleContext = { name, priority: a.number(rule.Priority, `${where}.Priority`), where };
  const [kind, s] = a.only(rule.Statement, `${where}.Statement`);
  try {
    if (kind === 'ManagedRuleGroupStatement') return managedGroup(a, rule, s, ctx, notEnforced);
    if (rule.Action === undefined) a.fail(where, 'has no Action');
    const match: WafMatch = kind === 'RateBasedStatement' ? a.rate(s, `${where}.Statement.RateBasedStatement`) : { type: 'statement', statement: a.statement(rule.Statement, `${where}.Statement`) };
    return { name, priority: ctx.priority, action: a.action(rule.Action, `${where}.Action`), match };
  } catch (error) {
    if (!(error instanceof NotReproduced)) throw error;
    notEnforced.push({ rule: name, reason: `${error.message}; the rule is not evaluated locally` });
    return undefined;
  }
}

function readAcl(t: WafTemplateSource, logicalId: string): WebAclModel {
  const properties = t.resources[logicalId].Properties;
  const a = new AclReader(t, properties, `web ACL ${logicalId}`);
  if (properties.Scope !== 'REGIONAL') a.fail('Scope', `must be REGIONAL for a load balancer (got ${JSON.stringify(properties.Scope)})`);
  const notEnforced: NotEnforced[] = [];
  let defaultAction: WafAction;
  try {
    defaultAction = a.action(properties.DefaultAction, 'DefaultAction');
  } catch (error) {
    if (!(error instanceof NotReproduced)) throw error;
    return a.fail('DefaultAction', error.message);
  }
  const list = properties.Rules === undefined ? [] : a.list(properties.Rules, 'Rules');
  const rules = list.map((r, i) => readRule(a, r, i, notEnforced)).filter((r): r is WafRuleModel => r !== undefined);
  const seen = new Map<number, string>();
  for (const [i, r] of list.entries()) {
    const o = a.object(r, `Rules[${i}]`);
    const priority = Number(o.Priority);
    if (seen.has(priority)) a.fail(`rule ${String(o.Name)}`, `has Priority ${priority}, as rule ${seen.get(priority)} does (priorities must be unique)`);
    seen.set(priority, String(o.Name));
  }
  return { logicalId, defaultAction, rules: rules.sort((x, y) => x.priority - y.priority), notEnforced };
}

/** The web ACL of load balancer `loadBalancerId`, or undefined when none is associated with it. */
export function readWebAcl(t: WafTemplateSource, loadBalancerId: string): WebAclModel | undefined {
  const associations = Object.entries(t.resources).filter(([, r]) => {
    if (r.Type !== TYPE.association) return false;
    const arn = r.Properties.ResourceArn;
    return isObject(arn) && arn.Ref === loadBalancerId;
  });
  if (associations.length === 0) return undefined;
  if (associations.length > 1) t.fail(`load balancer ${loadBalancerId} has ${associations.length} web ACL associations (${associations.map(([id]) => id).join(', ')}); WAF allows one`);
  const [associationId, association] = associations[0];
  const arn = association.Properties.WebACLArn;
  const getAtt = isObject(arn) && Array.isArray(arn['Fn::GetAtt']) ? (arn['Fn::GetAtt'] as unknown[]) : undefined;
  const aclId = getAtt && getAtt[1] === 'Arn' ? String(getAtt[0]) : undefined;
  if (aclId === undefined || t.resources[aclId]?.Type !== TYPE.webAcl) {
    return t.fail(`web ACL association ${associationId}: WebACLArn must be {"Fn::GetAtt": [<WebACL in this template>, "Arn"]} (got ${JSON.stringify(arn)})`);
  }
  return readAcl(t, aclId);
}
