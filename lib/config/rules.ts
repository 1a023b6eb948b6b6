/** The path-based rules of the HTTPS listener and what each does when it matches. */

import { z } from 'zod';
import { FIXED_RESPONSE_CONTENT_TYPES } from './allowed';
import { holdBack, report, whenValid } from './checks';
import { integer, listOf, matching, oneOf, says, section, Settings, shown, wholeNumber } from './fields';

const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+?*&(),!=;%]+$/;
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

/** The actions a rule can take; exactly one is set. Each key is its own kind of action. */
const actionShape = {
  /** Name of the target group to forward to. */
  forward: z.string({ error: (issue) => `must be the name of a target group (got ${shown(issue.input)})` }),
  /** Answer directly. */
  fixedResponse: fixedResponseSchema,
};

/** Both action keys, for the type only (`Pick` keeps each key's documentation). */
type ActionFields = z.output<ReturnType<typeof z.strictObject<typeof actionShape>>>;

/** The action of a listener rule: forward to a named target group, or answer directly. */
export type RuleAction = Settings<Pick<ActionFields, 'forward'> | Pick<ActionFields, 'fixedResponse'>>;

const ACTION_SHAPES = '{ "forward": "<target group>" } or { "fixedResponse": { statusCode, contentType, body } }';

/**
 * An object with one of the action keys. A union of two objects would report a misspelled key of
 * either as "matches neither"; one object with both keys optional names the key instead.
 */
export const ruleActionSchema = section(
  { forward: actionShape.forward.optional(), fixedResponse: actionShape.fixedResponse.optional() },
  ACTION_SHAPES,
)
  .superRefine((action, ctx) => {
    if ((action.forward === undefined) === (action.fixedResponse === undefined)) {
      // A misspelled action key (`forwrd`) is its own problem already; saying "must be one of the
      // actions" would only repeat it, but the action must still count as wrong for the routing rules.
      if (ctx.issues.some((issue) => issue.code === 'unrecognized_keys' && (issue.path ?? []).length === 0)) holdBack(ctx);
      else report(ctx, [], `must be ${ACTION_SHAPES}`);
    }
  }, whenValid())
  .transform((action): RuleAction => (action.forward !== undefined ? { forward: action.forward } : { fixedResponse: action.fixedResponse! }));

/** A path-based listener rule of the HTTPS listener. */
export const listenerRuleSchema = section({
  /** Rule priority, 1–50000, unique. Lower is evaluated first. */
  priority: integer(1, 50000),
  /** Path patterns (case-sensitive, `*` and `?` wildcards), ORed. 1 to 5 of them. */
  pathPatterns: listOf(matching(PATH_PATTERN, 'a path pattern of URL characters with * and ? wildcards'), 1, 5, (got) => `must list 1 to 5 patterns (got ${got})`),
  /** What the rule does when it matches. */
  action: ruleActionSchema,
});

/** The rules of the HTTPS listener, priorities unique. */
export const listenerRulesSchema = z
  .array(listenerRuleSchema, { error: (issue) => (issue.code === 'invalid_type' ? `must be a list of rules (got ${shown(issue.input)})` : undefined) })
  .superRefine((rules, ctx) => {
    const seen = new Set<number>();
    rules.forEach((rule, i) => {
      if (seen.has(rule.priority)) report(ctx, [i, 'priority'], `must be unique (${rule.priority} is used twice)`);
      seen.add(rule.priority);
    });
  }, whenValid(['*', 'priority']));

export type ListenerRuleConfig = Settings<z.output<typeof listenerRuleSchema>>;
