/**
 * The template's web ACL as the local proxy enforces it: plain data read from the synthesized
 * `AWS::WAFv2::WebACL` (read.ts), compiled into matchers once at start (engine.ts). Rules the proxy
 * cannot reproduce are not in `rules`: they are listed in `notEnforced`, each with the reason.
 */

/** A header WAF adds: to the request (Count/Allow `InsertHeaders`) or to a custom response. */
export interface WafHeader {
  readonly name: string;
  readonly value: string;
}

/** A Block action's custom response (`CustomResponse`). */
export interface WafCustomResponse {
  readonly statusCode: number;
  readonly headers: readonly WafHeader[];
  /** From the web ACL's `CustomResponseBodies`; absent: an empty body. */
  readonly body?: { readonly contentType: string; readonly content: string };
}

export type WafAction =
  | { readonly type: 'allow'; readonly insertHeaders: readonly WafHeader[] }
  | { readonly type: 'block'; readonly response?: WafCustomResponse }
  | { readonly type: 'count'; readonly insertHeaders: readonly WafHeader[] };

/** What WAF does with a body, headers or cookies larger than it can inspect. */
export type OversizeHandling = 'CONTINUE' | 'MATCH' | 'NO_MATCH';

/** The request component a statement inspects (`FieldToMatch`). */
export type WafField =
  | { readonly type: 'uri-path' }
  | { readonly type: 'query-string' }
  | { readonly type: 'method' }
  /** `name` in lower case: WAF matches header names case-insensitively. */
  | { readonly type: 'single-header'; readonly name: string }
  | { readonly type: 'body'; readonly oversize: OversizeHandling };

/** Text transformations the proxy reproduces (transform.ts). */
export const SUPPORTED_TRANSFORMATIONS = ['NONE', 'LOWERCASE', 'URL_DECODE', 'NORMALIZE_PATH', 'NORMALIZE_PATH_WIN', 'COMPRESS_WHITE_SPACE', 'REMOVE_NULLS'] as const;
export type WafTransformation = (typeof SUPPORTED_TRANSFORMATIONS)[number];

export type PositionalConstraint = 'EXACTLY' | 'STARTS_WITH' | 'ENDS_WITH' | 'CONTAINS' | 'CONTAINS_WORD';
export type ComparisonOperator = 'EQ' | 'NE' | 'LE' | 'LT' | 'GE' | 'GT';

/** A rule statement the proxy evaluates. Transformations are applied in `transformations` order. */
export type WafStatement =
  | {
      readonly type: 'byte-match';
      readonly field: WafField;
      readonly transformations: readonly WafTransformation[];
      readonly constraint: PositionalConstraint;
      /** Latin-1 string: one character per byte, as the request's components are read. */
      readonly search: string;
    }
  | {
      readonly type: 'size';
      readonly field: WafField;
      readonly transformations: readonly WafTransformation[];
      readonly operator: ComparisonOperator;
      readonly size: number;
    }
  | {
      readonly type: 'regex';
      readonly field: WafField;
      readonly transformations: readonly WafTransformation[];
      /** Any one matching matches (a regex pattern set holds several). */
      readonly patterns: readonly string[];
    }
  | { readonly type: 'and'; readonly statements: readonly WafStatement[] }
  | { readonly type: 'or'; readonly statements: readonly WafStatement[] }
  | { readonly type: 'not'; readonly statement: WafStatement };

/** What a rate-based rule counts requests by. */
export type RateAggregateKey =
  | { readonly type: 'ip' }
  | { readonly type: 'constant' }
  /** The first address in a header (`ForwardedIPConfig`); missing or invalid: `fallback`. */
  | { readonly type: 'forwarded-ip'; readonly header: string; readonly fallback: 'MATCH' | 'NO_MATCH' };

/** How a rule decides that it matches. */
export type WafMatch =
  | { readonly type: 'statement'; readonly statement: WafStatement }
  | {
      readonly type: 'rate';
      readonly limit: number;
      readonly windowSeconds: number;
      readonly key: RateAggregateKey;
      readonly scopeDown?: WafStatement;
    }
  /** A managed rule group: the rules the proxy reproduces, in the group's order, each with its (overridden) action. */
  | { readonly type: 'group'; readonly vendor: string; readonly group: string; readonly scopeDown?: WafStatement; readonly rules: readonly WafRuleModel[] };

export interface WafRuleModel {
  readonly name: string;
  readonly priority: number;
  /** For a group, unused: its rules carry their own actions. */
  readonly action: WafAction;
  readonly match: WafMatch;
}

/** A rule, or part of a managed rule group, the proxy does not evaluate, and why. */
export interface NotEnforced {
  readonly rule: string;
  readonly reason: string;
}

export interface WebAclModel {
  /** Logical id of the `AWS::WAFv2::WebACL`. */
  readonly logicalId: string;
  readonly defaultAction: WafAction;
  /** Sorted by priority. */
  readonly rules: readonly WafRuleModel[];
  readonly notEnforced: readonly NotEnforced[];
}
