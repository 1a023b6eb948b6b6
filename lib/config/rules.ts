/**
 * The listener's routing: the HTTPS listener's rules (conditions and an action each) and its
 * default action. An action forwards to one service, spreads over up to five with weights (a
 * canary), or answers itself. The ALB's limits come from `lib/alb/listener-rule-limits.ts`.
 */

import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import {
  MAX_FORWARD_WEIGHT,
  MAX_GROUP_STICKINESS_SECONDS,
  MAX_RULE_PRIORITY,
  MAX_RULES_PER_LOAD_BALANCER,
  MAX_TARGET_GROUPS_PER_FORWARD,
  MAX_VALUES_PER_CONDITION,
  MAX_VALUES_PER_RULE,
  MAX_WILDCARDS_PER_RULE,
} from '../alb/listener-rule-limits';
import { FIXED_RESPONSE_CONTENT_TYPES } from './allowed';
import { holdBack, report, whenValid } from './checks';
import { integer, listOf, matching, oneOf, says, section, Settings, shown, unsettable, wholeNumber } from './fields';
import { retiredSettings } from './retired';

const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+?*&(),!=;%]{1,128}$/;
// A host name pattern as HostHeaderConditionConfig takes it: at least one `.`, and only letters
// (or wildcards) after the last one (ELB API reference).
const HOST_PATTERN = /^(?=.{1,128}$)[A-Za-z0-9\-.*?]*\.[A-Za-z*?]+$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,40}$/;
const MATCH_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
const QUERY_VALUE = /^[\x21-\x25\x27-\x7e]{1,128}$/;
const METHOD = /^[A-Z_-]{1,40}$/;
const FIXED_RESPONSE_BODY_MAX_BYTES = 1024;

const statusCodeParams = says((got) => `must be a 2XX, 4XX or 5XX code (got ${got})`);
const bodyParams = says(() => `must be a string of at most ${FIXED_RESPONSE_BODY_MAX_BYTES} bytes`);

/** An answer the load balancer gives itself, without a target. */
export const fixedResponseSchema = section({
  /** HTTP status code: 2XX, 4XX or 5XX. */
  statusCode: wholeNumber(statusCodeParams).refine((code) => /^[245]\d\d$/.test(String(code)), statusCodeParams),
  /** Content type of the body. */
  contentType: oneOf(FIXED_RESPONSE_CONTENT_TYPES),
  /** The body, at most 1024 bytes. */
  body: z.string(bodyParams).refine((body) => Buffer.byteLength(body) <= FIXED_RESPONSE_BODY_MAX_BYTES, bodyParams),
});

const FORWARD_SHAPES = `the name of a service or { "<service>": <weight 0–${MAX_FORWARD_WEIGHT}>, … } (1 to ${MAX_TARGET_GROUPS_PER_FORWARD} services)`;

/** Weights by service name, as ALB's weighted forward spreads requests. */
const weightsSchema = z
  .record(z.string(), integer(0, MAX_FORWARD_WEIGHT))
  .superRefine((weights, ctx) => {
    const names = Object.keys(weights);
    if (names.length < 1 || names.length > MAX_TARGET_GROUPS_PER_FORWARD) {
      report(ctx, [], `must name 1 to ${MAX_TARGET_GROUPS_PER_FORWARD} services, the ALB's limit per forward action (got ${names.length})`);
    } else if (Object.values(weights).every((weight) => weight === 0)) {
      report(ctx, [], 'must give at least one service a weight above 0');
    }
  }, whenValid());

/** One service by name (`"api"`), or weights over several (`{ "web": 90, "web-canary": 10 }`); always weights once parsed. */
const forwardSchema = z
  .union([z.string(), weightsSchema], { error: (issue) => `must be ${FORWARD_SHAPES} (got ${shown(issue.input)})` })
  .transform((forward): Record<string, number> => (typeof forward === 'string' ? { [forward]: 1 } : forward));

/** The actions a rule can take; exactly one is set. Each key is its own kind of action. */
const actionShape = {
  /**
   * The service to forward to (`"api"`), or up to 5 services with weights for a canary
   * (`{ "web": 90, "web-canary": 10 }`): each request goes to a service with probability weight / sum.
   * Parsed, it is always weights by service (a single name has weight 1).
   */
  forward: forwardSchema,
  /**
   * Keep a client on the service a weighted forward first chose, for this many seconds
   * (1–604800; the ALB's target-group stickiness, cookie `AWSALBTG`). Only with `forward`.
   * @default - none: every request is chosen by weight
   */
  groupStickinessSeconds: unsettable(integer(1, MAX_GROUP_STICKINESS_SECONDS)),
  /** Answer directly. */
  fixedResponse: fixedResponseSchema,
};

type ActionFields = z.output<ReturnType<typeof z.strictObject<typeof actionShape>>>;

/** What a rule or the default action does: forward to services by weight, or answer directly. */
export type RuleAction = Settings<Pick<ActionFields, 'forward'> & Partial<Pick<ActionFields, 'groupStickinessSeconds'>>> | Settings<Pick<ActionFields, 'fixedResponse'>>;

const ACTION_SHAPES = '{ "forward": "<service>" | { "<service>": <weight>, … }, "groupStickinessSeconds"?: <s> } or { "fixedResponse": { statusCode, contentType, body } }';

/**
 * An object with one of the action keys. A union of two objects would report a misspelled key of
 * either as "matches neither"; one object with every key optional names the key instead.
 */
export const ruleActionSchema = section(
  { forward: actionShape.forward.optional(), groupStickinessSeconds: actionShape.groupStickinessSeconds, fixedResponse: actionShape.fixedResponse.optional() },
  ACTION_SHAPES,
)
  .superRefine((action, ctx) => {
    if ((action.forward === undefined) === (action.fixedResponse === undefined)) {
      // A misspelled action key (`forwrd`) is its own problem already; saying "must be one of the
      // actions" would only repeat it, but the action must still count as wrong for the routing rules.
      if (ctx.issues.some((issue) => issue.code === 'unrecognized_keys' && (issue.path ?? []).length === 0)) holdBack(ctx);
      else report(ctx, [], `must be ${ACTION_SHAPES}`);
    } else if (action.fixedResponse !== undefined && action.groupStickinessSeconds !== undefined) {
      report(ctx, ['groupStickinessSeconds'], 'can only be set with forward');
    }
  }, whenValid())
  .transform(
    (action): RuleAction =>
      action.forward !== undefined
        ? { forward: action.forward, ...(action.groupStickinessSeconds !== undefined ? { groupStickinessSeconds: action.groupStickinessSeconds } : {}) }
        : { fixedResponse: action.fixedResponse! },
  );

/** A list of 1 to 3 values of one condition (the ALB's limit per condition). */
function conditionValues<T extends z.ZodType>(element: T, what: string) {
  return listOf(element, 1, MAX_VALUES_PER_CONDITION, (got) => `must list 1 to ${MAX_VALUES_PER_CONDITION} ${what} (got ${got})`);
}

const cidrParams = says((got) => `must be an IPv4 or IPv6 CIDR block such as 192.0.2.0/24 or 2001:db8::/32 (got ${got})`);

/** An IPv4 or IPv6 CIDR block with its prefix length. */
const cidrSchema = z.string(cidrParams).refine((text) => {
  const [address, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  return bits > 0 && Number(prefix) <= bits;
}, cidrParams);

/** An `http-header` condition: the header's value matches one of the values. */
const httpHeaderConditionSchema = section({
  /** Header name (not case-sensitive), at most 40 characters. */
  name: matching(HEADER_NAME, 'an HTTP header name of at most 40 token characters'),
  /** Values (not case-sensitive, `*` and `?` wildcards), ORed; 1 to 3. */
  values: conditionValues(matching(MATCH_VALUE, 'a header value of at most 128 printable characters'), 'values'),
});

/** One key/value pair of a `query-string` condition. */
const queryStringPairSchema = section({
  /** Query parameter name (not case-sensitive, wildcards); absent: any parameter. @default - any */
  key: matching(QUERY_VALUE, 'a query key of at most 128 printable characters without & or spaces').optional(),
  /** Query parameter value (not case-sensitive, wildcards). */
  value: matching(QUERY_VALUE, 'a query value of at most 128 printable characters without & or spaces'),
});

/**
 * The conditions of a rule; each set condition must match, the values within one are ORed. At
 * least one is set, and a rule lists at most 5 values over all its conditions (the ALB's limits).
 */
export const ruleConditionsSchema = section({
  /** Path patterns (case-sensitive, `*` and `?` wildcards; the path only, not the query). @default - any path */
  pathPatterns: conditionValues(matching(PATH_PATTERN, 'a path pattern of at most 128 URL characters with * and ? wildcards'), 'path patterns').optional(),
  /** Host names (not case-sensitive, wildcards), such as `api.example.com` or `*.example.com`. @default - any host */
  hostHeaders: conditionValues(matching(HOST_PATTERN, 'a host name of letters, digits, -, . and * or ? wildcards, with a . and only letters or wildcards after the last one'), 'host names').optional(),
  /** Header conditions, each on one header name; all must match. @default - none */
  httpHeaders: z.array(httpHeaderConditionSchema, { error: (issue) => `must be a list of { name, values } (got ${shown(issue.input)})` }).optional(),
  /** Request methods (case-sensitive, such as GET or POST). @default - any method */
  httpRequestMethods: conditionValues(matching(METHOD, 'a request method of upper-case letters, - or _'), 'methods').optional(),
  /** Query-string pairs, ORed. @default - any query */
  queryStrings: conditionValues(queryStringPairSchema, 'key/value pairs').optional(),
  /** Client source addresses as CIDR blocks (the connection's address, not X-Forwarded-For). @default - any address */
  sourceIps: conditionValues(cidrSchema, 'CIDR blocks').optional(),
}).superRefine(checkConditionLimits, whenValid());

export type RuleConditions = Settings<z.output<typeof ruleConditionsSchema>>;

/** Every value a set of conditions matches against, each once: what the ALB counts against its limits. */
export function conditionValueList(c: RuleConditions): string[] {
  return [
    ...(c.pathPatterns ?? []),
    ...(c.hostHeaders ?? []),
    ...(c.httpHeaders ?? []).flatMap((header) => header.values),
    ...(c.httpRequestMethods ?? []),
    ...(c.queryStrings ?? []).map((pair) => `${pair.key ?? ''}=${pair.value}`),
    ...(c.sourceIps ?? []),
  ];
}

function checkConditionLimits(c: RuleConditions, ctx: z.core.$RefinementCtx<unknown>): void {
  const values = conditionValueList(c);
  if (values.length === 0) {
    report(ctx, [], `must set at least one of ${Object.keys(ruleConditionsSchema.shape).join(', ')}`);
  } else if (values.length > MAX_VALUES_PER_RULE) {
    report(ctx, [], `must list at most ${MAX_VALUES_PER_RULE} values over all conditions, the ALB's limit per rule (got ${values.length})`);
  }
  const wildcards = values.reduce((sum, value) => sum + (value.match(/[*?]/g)?.length ?? 0), 0);
  if (wildcards > MAX_WILDCARDS_PER_RULE) report(ctx, [], `must use at most ${MAX_WILDCARDS_PER_RULE} wildcards (* and ?) over all conditions, the ALB's limit per rule (got ${wildcards})`);
}

/** A rule of the HTTPS listener. */
export const listenerRuleSchema = section({
  /** Rule priority, 1–50000, unique. Lower is evaluated first. */
  priority: integer(1, MAX_RULE_PRIORITY),
  /** What a request must match. */
  conditions: ruleConditionsSchema,
  /** What the rule does when it matches. */
  action: ruleActionSchema,
});

const movedToConditions = (at: (...path: (string | number)[]) => string) => `moved into ${at('conditions', 'pathPatterns')} (rules now take any ALB condition: { "conditions": { "pathPatterns": [...] } })`;
retiredSettings.set(listenerRuleSchema, { pathPatterns: movedToConditions });

/** The rules of the HTTPS listener: at most 100, priorities unique. */
export const listenerRulesSchema = z
  .array(listenerRuleSchema, { error: (issue) => (issue.code === 'invalid_type' ? `must be a list of rules (got ${shown(issue.input)})` : undefined) })
  .superRefine((rules, ctx) => {
    if (rules.length > MAX_RULES_PER_LOAD_BALANCER) report(ctx, [], `must hold at most ${MAX_RULES_PER_LOAD_BALANCER} rules, the ALB's limit per load balancer (got ${rules.length})`);
  }, whenValid({ keysOf: [] }))
  .superRefine((rules, ctx) => {
    const seen = new Set<number>();
    rules.forEach((rule, i) => {
      if (seen.has(rule.priority)) report(ctx, [i, 'priority'], `must be unique (${rule.priority} is used twice)`);
      seen.add(rule.priority);
    });
  }, whenValid(['*', 'priority']));

export type ListenerRuleConfig = Settings<z.output<typeof listenerRuleSchema>>;
