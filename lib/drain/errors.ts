import type { DrainReport } from './engine';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/service-error-classification';

/** Why a drain could not run or finish; each has its own exit code for the CLI. */
export type DrainErrorCode =
  | 'INVALID_TARGET'
  | 'UNKNOWN_INSTANCE'
  | 'NOT_REGISTERED'
  | 'NO_CREDENTIALS'
  | 'AWS_ERROR'
  | 'THROTTLED'
  | 'TIMEOUT'
  | 'INTERRUPTED';

/**
 * Exit codes of `npm run drain` (documented in its --help and docs/drain.md). Each cause has its
 * own code so scripts can tell them apart; codes 2–7 keep their first meaning, new ones are added.
 */
export const EXIT_CODES: Record<DrainErrorCode | 'OK' | 'USAGE', number> = {
  OK: 0,
  USAGE: 2,
  UNKNOWN_INSTANCE: 3,
  NOT_REGISTERED: 4,
  NO_CREDENTIALS: 5,
  AWS_ERROR: 6,
  TIMEOUT: 7,
  INVALID_TARGET: 8,
  THROTTLED: 9,
  INTERRUPTED: 130,
};

/**
 * With several targets the CLI exits with the most severe outcome, most severe first: a failure
 * that may have left something half-done outranks a timeout, which outranks "nothing to do".
 */
export const EXIT_SEVERITY: readonly (DrainErrorCode | 'OK')[] = [
  'INTERRUPTED',
  'AWS_ERROR',
  'THROTTLED',
  'NO_CREDENTIALS',
  'TIMEOUT',
  'UNKNOWN_INSTANCE',
  'NOT_REGISTERED',
  'INVALID_TARGET',
  'OK',
];

/** The most severe of several outcomes (OK when there are none). */
export function worstOutcome(outcomes: readonly (DrainErrorCode | 'OK')[]): DrainErrorCode | 'OK' {
  return EXIT_SEVERITY.find((code) => outcomes.includes(code)) ?? 'OK';
}

export class DrainError extends Error {
  /** What the drain had done when it failed (its registrations and deregistration times), if it got that far. */
  report?: DrainReport;

  constructor(
    readonly code: DrainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DrainError';
  }
}

interface AwsErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The error's AWS code (`Throttling`, `InvalidTarget`, `ValidationError`, …). */
export function awsErrorCode(error: unknown): string {
  const e = error as AwsErrorShape;
  return e?.Code ?? e?.name ?? e?.code ?? '';
}

/** "Not registered" from DeregisterTargets: the SDK's InvalidTargetException (query code InvalidTarget). */
export function isInvalidTarget(error: unknown): boolean {
  const e = error as AwsErrorShape;
  return e?.name === 'InvalidTargetException' || e?.Code === 'InvalidTarget' || e?.name === 'InvalidTarget';
}

/** Errors the SDK's credential chain throws when it finds nothing usable (by class name, not message text). */
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/** The SDK's error shape, as its classifiers take it. */
type SdkError = Parameters<typeof isThrottlingError>[0];

/** The SDK's classifiers take an SdkError; anything else (a string, undefined) is not retryable. */
const asSdkError = (error: unknown): SdkError | undefined => (typeof error === 'object' && error !== null ? (error as SdkError) : undefined);

/** Is this a throttling answer (the SDK's own list: Throttling, RequestThrottled, SlowDown, HTTP 429, …)? */
export function isThrottling(error: unknown): boolean {
  const e = asSdkError(error);
  return e !== undefined && isThrottlingError(e);
}

/**
 * Would the SDK's standard retry strategy call this transient or throttling — a 500/502/503/504,
 * ECONNRESET/EPIPE/ETIMEDOUT, a request timeout, a network error — or is it any other 5xx? All are
 * retried: a server-side failure says nothing about the drain, and giving up would release early.
 */
export function isRetryableAwsError(error: unknown): boolean {
  const e = asSdkError(error);
  return e !== undefined && (isThrottlingError(e) || isTransientError(e) || isServerError(e));
}

/**
 * A call that kept failing with retryable errors until the attempts or the deadline ran out.
 * `cause` is the last error; `reason` says which limit ended the retries.
 */
export class RetriesExhausted extends Error {
  constructor(
    readonly cause: unknown,
    readonly reason: 'attempts' | 'deadline',
    readonly attempts: number,
  ) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'RetriesExhausted';
  }
}

/** One line, whatever the SDK put into the message (XML bodies, stack-like text). */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

function exhaustedError(error: RetriesExhausted): DrainError {
  const cause = error.cause;
  const name = awsErrorCode(cause) || 'error';
  const detail = oneLine(`${name}: ${(cause as Error)?.message ?? String(cause)}`);
  if (error.reason === 'deadline') return new DrainError('TIMEOUT', `AWS kept failing until the timeout (${detail})`);
  if (isThrottling(cause)) return new DrainError('THROTTLED', `AWS kept throttling requests (${name}) beyond the retries; try again later`);
  const network = (cause as { code?: string })?.code;
  if (network === 'ECONNREFUSED' || network === 'ENOTFOUND' || network === 'EAI_AGAIN' || network === 'EHOSTUNREACH') {
    return new DrainError('AWS_ERROR', `cannot reach the AWS endpoint (${network}) after ${error.attempts} attempts: check --region, --endpoint and the network`);
  }
  return new DrainError('AWS_ERROR', `AWS kept failing after ${error.attempts} attempts (${detail})`);
}

/** Turns SDK errors into a DrainError: no credentials, retries exhausted (by attempts or deadline), others AWS_ERROR. */
export function toDrainError(error: unknown): DrainError {
  if (error instanceof DrainError) return error;
  if (error instanceof RetriesExhausted) return exhaustedError(error);
  const name = awsErrorCode(error);
  const message = (error as Error)?.message ?? String(error);
  if (NO_CREDENTIALS.has((error as AwsErrorShape)?.name ?? '')) {
    return new DrainError('NO_CREDENTIALS', 'no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
  }
  return new DrainError('AWS_ERROR', oneLine(`${name || 'AWS error'}: ${message}`));
}
