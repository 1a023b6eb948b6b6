/**
 * Turns zod's issues into the lines a user reads: each starts with the full path of the field
 * (`services.web.healthCheck.timeoutSeconds`), an unknown key names the nearest known one.
 */

import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';
import type { FieldPath, ProblemParams } from './checks';
import { retiredSettings } from './retired';

type Path = readonly PropertyKey[];

/** `rules[0].action.forward`: keys joined with dots, list indexes in brackets. */
export function dotted(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

/** The schema under optional, nullable and transform wrappers. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodOptional || node instanceof z.ZodNullable || node instanceof z.ZodReadonly) node = node.unwrap();
    else if (node instanceof z.ZodPipe) node = node.in;
    else return node;
  }
}

/** The schema that parses the value at `path`, or undefined where the path leaves the schema. */
function schemaAt(root: z.core.$ZodType, path: Path): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = unwrap(root);
  for (const key of path) {
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.core.$ZodType>)[String(key)];
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else if (node instanceof z.ZodArray) node = node.element;
    else return undefined;
    if (node === undefined) return undefined;
    node = unwrap(node);
  }
  return node;
}

/** How far a misspelling may be from the key it means: one edit per three letters, at least one. */
function closeEnough(key: string, known: string): boolean {
  return distance(key.toLowerCase(), known.toLowerCase()) <= Math.max(1, Math.floor(key.length / 3));
}

function unknownKey(root: z.core.$ZodType, path: Path, key: string): string {
  const at = (...rest: FieldPath) => dotted([...path, ...rest]);
  const owner = schemaAt(root, path);
  const retired = owner && retiredSettings.get(owner)?.[key];
  if (retired) return `${at(key)} ${retired(at)}`;
  const known = owner instanceof z.ZodObject ? Object.keys(owner.shape) : [];
  if (known.length === 0) return `${at(key)} is not a known setting`;
  const nearest = closest(key, known);
  if (closeEnough(key, nearest)) return `${at(key)} is not a known setting; did you mean ${at(nearest)}?`;
  return `${at(key)} is not a known setting (known ${path.length > 0 ? `in ${dotted(path)}` : 'at the top level'}: ${known.join(', ')})`;
}

/** The text of an issue; a rule's text may name other fields by their full path. */
function textOf(issue: z.core.$ZodIssue): string {
  const params = issue.code === 'custom' ? (issue.params as Partial<ProblemParams> | undefined) : undefined;
  if (typeof params?.text !== 'function') return issue.message;
  const base = issue.path.slice(0, issue.path.length - (params.depth ?? 0));
  return params.text((...rest) => dotted([...base, ...rest]));
}

function linesOf(root: z.core.$ZodType, issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'custom' && (issue.params as Partial<ProblemParams> | undefined)?.silent) return [];
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownKey(root, issue.path, key));
  const at = dotted(issue.path);
  return [at ? `${at} ${textOf(issue)}` : textOf(issue)];
}

/** One line per problem, in the order of the schema, each once. */
export function problemLines(root: z.core.$ZodType, issues: readonly z.core.$ZodIssue[]): string[] {
  return [...new Set(issues.flatMap((issue) => linesOf(root, issue)))];
}
