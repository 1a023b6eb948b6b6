/**
 * WAF compares a header's value as text: a size constraint on `Content-Length` measures how many
 * characters the value has, not the number it spells. A declared body larger than a limit is
 * therefore matched with a regular expression for "a decimal integer greater than N".
 */

/** Longest regular expression WAF accepts in a regex match statement (RegexString). */
export const WAF_REGEX_MAX_LENGTH = 512;

/** Most bytes of a request body WAF inspects behind an Application Load Balancer (fixed). */
export const WAF_ALB_BODY_INSPECTION_BYTES = 8192;

/**
 * A regular expression matching exactly the decimal integers (leading zeros allowed) greater than
 * `n`: any number with more significant digits, or one with as many that is larger at the first
 * digit where it differs. Uses only `^ $ (?:) | [ ] {n,}`, which WAF's PCRE subset supports.
 */
export function greaterThanPattern(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`greaterThanPattern needs a non-negative safe integer (got ${n})`);
  const digits = String(n);
  const alternatives = [`[1-9][0-9]{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    if (digit === 9) continue;
    const rest = digits.length - i - 1;
    const next = digit + 1 === 9 ? '9' : `[${digit + 1}-9]`;
    alternatives.push(`${digits.slice(0, i)}${next}${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  return `^0*(?:${alternatives.join('|')})$`;
}
