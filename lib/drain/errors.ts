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

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']);

/** Is this a throttling answer, to be retried with backoff? */
export function isThrottling(error: unknown): boolean {
  return THROTTLING.has(awsErrorCode(error)) || (error as AwsErrorShape)?.$metadata?.httpStatusCode === 429;
}

/** Turns SDK errors that mean "no credentials" into a DrainError; others into AWS_ERROR. */
export function toDrainError(error: unknown): DrainError {
  if (error instanceof DrainError) return error;
  const name = awsErrorCode(error);
  const message = (error as Error)?.message ?? String(error);
  if (NO_CREDENTIALS.has((error as AwsErrorShape)?.name ?? '')) {
    return new DrainError('NO_CREDENTIALS', 'no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
  }
  const network = (error as { code?: string })?.code;
  if (network === 'ECONNREFUSED' || network === 'ENOTFOUND' || network === 'ETIMEDOUT') {
    return new DrainError('AWS_ERROR', `cannot reach the AWS endpoint (${network}): check --region, --endpoint and the network`);
  }
  if (isThrottling(error)) return new DrainError('THROTTLED', `AWS kept throttling requests (${name}) beyond the retries; try again later`);
  return new DrainError('AWS_ERROR', `${name || 'AWS error'}: ${message}`);
}
