/**
 * Rules that relate several fields (a timeout below its interval, a rule naming a target group):
 * they run as zod refinements on the object that holds the fields, and only when the fields they
 * read parsed cleanly. So one synth lists every independent problem, and none that is only the
 * echo of another (a range computed from a field that is itself wrong).
 */

import type { z } from 'zod';

/** A path below the object a rule is attached to; `'*'` stands for any key or index. */
export type FieldPath = readonly (string | number)[];

/** Reads only the keys of an object (or the length of a list), not the values under them. */
export interface KeysOf {
  readonly keysOf: FieldPath;
}

/** Text that names other fields: `at('intervalSeconds')` is that field's full path. */
export type ProblemText = string | ((at: (...path: FieldPath) => string) => string);

function matches(a: readonly PropertyKey[], b: FieldPath, length: number): boolean {
  for (let i = 0; i < length; i++) if (b[i] !== '*' && b[i] !== a[i]) return false;
  return true;
}

/** Whether an issue at `issuePath` makes the value a rule reads at `read` untrustworthy. */
function spoils(issuePath: readonly PropertyKey[], read: FieldPath | KeysOf): boolean {
  const path = 'keysOf' in read ? read.keysOf : read;
  if (issuePath.length <= path.length) return matches(issuePath, path, issuePath.length);
  return !('keysOf' in read) && matches(issuePath, path, path.length);
}

/**
 * The `when` of a refinement that reads `reads`: it runs unless the object itself or one of those
 * fields has an issue. An unknown key changes no value, so it never holds a rule back.
 */
export function whenValid(...reads: (FieldPath | KeysOf)[]): { when: (payload: z.core.ParsePayload) => boolean } {
  const all = [{ keysOf: [] }, ...reads];
  return {
    when: (payload) => !payload.issues.some((issue) => issue.code !== 'unrecognized_keys' && all.some((read) => spoils(issue.path ?? [], read))),
  };
}

/** Parameters of an issue a rule raises; `problems.ts` turns them into the problem's text. */
export interface ProblemParams {
  readonly text: ProblemText;
  /** Set on an issue that only holds back the rules reading its field: another line says what is wrong. */
  readonly silent?: boolean;
  /** How many path segments the rule added below the object it is attached to. */
  readonly depth: number;
}

/** Raises a problem at `path` below the object the rule is attached to. */
export function report(ctx: z.core.$RefinementCtx<unknown>, path: FieldPath, text: ProblemText): void {
  const params: ProblemParams = { text, depth: path.length };
  ctx.addIssue({ code: 'custom', path: [...path], message: typeof text === 'string' ? text : undefined, params: { ...params } });
}

/** Marks the object as wrong without a line of its own, when another issue already explains it. */
export function holdBack(ctx: z.core.$RefinementCtx<unknown>): void {
  const params: ProblemParams = { text: '', depth: 0, silent: true };
  ctx.addIssue({ code: 'custom', path: [], params: { ...params } });
}
