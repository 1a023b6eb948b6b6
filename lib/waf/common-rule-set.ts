/**
 * What AWS documents of the Core rule set (`AWSManagedRulesCommonRuleSet`), AWS WAF Developer
 * Guide, "Baseline rule groups": its size restriction rules, whose thresholds are published
 * exactly. Each blocks by default.
 * https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
 */
import { WAF_ALB_BODY_INSPECTION_BYTES } from './content-length';

export const COMMON_RULE_SET = { vendor: 'AWS', name: 'AWSManagedRulesCommonRuleSet' } as const;

/** The rule that blocks every body over 8 KB (the stack overrides it to Count above that limit). */
export const CRS_BODY_SIZE_RULE = 'SizeRestrictions_BODY';

/** The request component a size restriction measures. */
export type SizeRestrictedPart = 'query-string' | 'cookie-header' | 'body' | 'uri-path';

export interface SizeRestriction {
  readonly rule: string;
  readonly part: SizeRestrictedPart;
  /** Matches when the part is over this many bytes. */
  readonly maxBytes: number;
}

/** In the order the guide lists them (the group evaluates in its own order; all four block). */
export const COMMON_RULE_SET_SIZE_RESTRICTIONS: readonly SizeRestriction[] = [
  { rule: 'SizeRestrictions_QUERYSTRING', part: 'query-string', maxBytes: 2048 },
  { rule: 'SizeRestrictions_Cookie_HEADER', part: 'cookie-header', maxBytes: 10_240 },
  // "over 8 KB": all WAF sees of a body behind an ALB, so any larger body matches.
  { rule: CRS_BODY_SIZE_RULE, part: 'body', maxBytes: WAF_ALB_BODY_INSPECTION_BYTES },
  { rule: 'SizeRestrictions_URIPATH', part: 'uri-path', maxBytes: 1024 },
];

/**
 * The group's other rules, not reproduced locally (their patterns are not published; only
 * NoUserAgent_HEADER's is, "no User-Agent header", and it is left out too: see docs/proxy.md).
 */
export const COMMON_RULE_SET_UNPUBLISHED_RULES = [
  'NoUserAgent_HEADER',
  'UserAgent_BadBots_HEADER',
  'EC2MetaDataSSRF_BODY',
  'EC2MetaDataSSRF_COOKIE',
  'EC2MetaDataSSRF_URIPATH',
  'EC2MetaDataSSRF_QUERYARGUMENTS',
  'GenericLFI_QUERYARGUMENTS',
  'GenericLFI_URIPATH',
  'GenericLFI_BODY',
  'RestrictedExtensions_URIPATH',
  'RestrictedExtensions_QUERYARGUMENTS',
  'GenericRFI_QUERYARGUMENTS',
  'GenericRFI_BODY',
  'GenericRFI_URIPATH',
  'CrossSiteScripting_COOKIE',
  'CrossSiteScripting_QUERYARGUMENTS',
  'CrossSiteScripting_BODY',
  'CrossSiteScripting_URIPATH',
] as const;
