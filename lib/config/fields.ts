/**
 * Schema builders for the kinds of field the configuration has, each with the one message a user
 * sees when a value is wrong: the field's path is put in front of it (see `problems.ts`), so a
 * message says what the value must be and what it was.
 */

import { z } from 'zod';

/** A rejected value as the user would have written it in JSON. */
export function shown(value: unknown): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
}

/**
 * The one message every issue of a field gets, whichever of its checks failed (a value can fail
 * two, `1.5` both `int` and `min(2)`; identical lines are reported once). No check aborts: an
 * aborting issue would also hold back every rule of the enclosing objects (`checks.ts`).
 */
export function says(text: (got: string) => string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => text(shown(issue.input)) };
}

/**
 * A number that must be whole. Not zod's `.int()`: its issue for `1.5` aborts explicitly, which
 * would hold back every rule of the enclosing objects, the cross-section ones included.
 */
export function wholeNumber(params: ReturnType<typeof says>) {
  return z.number(params).refine(Number.isInteger, params);
}

/** An integer from `min` to `max`, both included. */
export function integer(min: number, max: number) {
  const params = says((got) => `must be an integer from ${min} to ${max} (got ${got})`);
  return wholeNumber(params).min(min, params).max(max, params);
}

/** A number above 0 and at most 100. */
export function percent() {
  const params = says((got) => `must be a number above 0 and at most 100 (got ${got})`);
  return z.number(params).gt(0, params).max(100, params);
}

/** One of a fixed list of values; the message lists them in their order. */
export function oneOf<const T extends readonly (string | number)[]>(values: T) {
  return z.literal(values, says((got) => `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')} (got ${got})`));
}

/** A string matching `pattern`; `expected` says in words what that is. */
export function matching(pattern: RegExp, expected: string) {
  const params = says((got) => `must be ${expected} (got ${got})`);
  return z.string(params).regex(pattern, params);
}

/** `true` or `false`, nothing that merely looks like one. */
export function flag() {
  return z.boolean(says((got) => `must be true or false (got ${got})`));
}

/**
 * An optional setting that `null` also leaves unset, as `-c albatross.certificateArn=null` does on
 * the command line: the parsed value is then `undefined`.
 */
export function unsettable<T extends z.ZodType>(schema: T) {
  return schema
    .nullish()
    .transform((value) => value ?? undefined)
    .optional();
}

/**
 * A group of settings: unknown keys are errors (`problems.ts` names the nearest known one), and a
 * value that is no object says which keys the object holds. Frozen once parsed.
 */
export function section<T extends z.core.$ZodLooseShape>(shape: T, expected = `an object { ${Object.keys(shape).join(', ')} }`) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? `must be ${expected} (got ${shown(issue.input)})` : undefined),
  });
}

/** A list; its own message covers a value that is no list and a wrong length. */
export function listOf<T extends z.ZodType>(element: T, min: number, max: number, text: (got: string) => string) {
  const params = says(text);
  return z.array(element, params).min(min, params).max(max, params);
}

/**
 * A parsed group of settings as the stack reads it: every field read-only, as in aws-cdk-lib's props
 * interfaces. Lists stay plain arrays, which CDK's APIs take.
 */
export type Settings<T> = T extends (infer U)[] ? Settings<U>[] : T extends object ? { readonly [K in keyof T]: Settings<T[K]> } : T;
