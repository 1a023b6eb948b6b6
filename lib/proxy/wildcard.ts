/**
 * ALB wildcard patterns: `*` matches any run of characters (none, and `/` included), `?` exactly
 * one; everything else is literal. Compiled once to an anchored RegExp.
 */
const REGEX_SPECIAL = /[.+^${}()|[\]\\]/g;

/** Compiles an ALB wildcard pattern; `caseInsensitive` for host, header, query values. */
export function compileWildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

/** One RegExp for several ORed patterns. */
export function compileWildcards(patterns: readonly string[], caseInsensitive: boolean): RegExp {
  const bodies = patterns.map((p) => compileWildcard(p, false).source.slice(1, -1));
  return new RegExp(`^(?:${bodies.join('|')})$`, caseInsensitive ? 'i' : '');
}
