/** Error classification: the SDK's own (from @smithy/service-error-classification), and one readable line. */
import { InvalidTargetException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { isRetryableAwsError, isThrottling, RetriesExhausted, toDrainError } from '../../../lib/drain/errors';
import { withRetry } from '../../../lib/drain/retry';
import { TRANSIENT_ERRORS } from '../../support/aws-errors';

test.each(Object.entries(TRANSIENT_ERRORS))('%s is retried', (_name, error) => {
  expect(isRetryableAwsError(error())).toBe(true);
});

test('SQS RequestThrottled and HTTP 429 are throttling (they slow the poller down)', () => {
  expect(isThrottling(TRANSIENT_ERRORS['SQS RequestThrottled']())).toBe(true);
  expect(isThrottling(Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 429 } }))).toBe(true);
  expect(isThrottling(TRANSIENT_ERRORS.ECONNRESET())).toBe(false);
});

test('errors retrying cannot fix are not retried', () => {
  const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  const validation = Object.assign(new Error('No active Lifecycle Action found'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
  const invalidTarget = new InvalidTargetException({ message: 'not registered', $metadata: { httpStatusCode: 400 } });
  for (const e of [denied, validation, invalidTarget, undefined, 'text']) expect(isRetryableAwsError(e)).toBe(false);
});

test('withRetry gives up after its attempts, or before a wait would pass its deadline', async () => {
  let t = 0;
  let calls = 0;
  const failing = async () => {
    calls++;
    throw TRANSIENT_ERRORS['HTTP 503 ServiceUnavailable']();
  };
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), random: () => 0.99 };
  await expect(withRetry(failing, { ...clock, attempts: 3 })).rejects.toMatchObject({ reason: 'attempts', attempts: 3 });
  expect(calls).toBe(3);
  calls = 0;
  await expect(withRetry(failing, { ...clock, attempts: Infinity, deadline: t + 10_000 })).rejects.toBeInstanceOf(RetriesExhausted);
  expect(calls).toBeGreaterThan(3);
  expect(t).toBeLessThanOrEqual(10_000);
});

test('every DrainError message is one line, whatever the SDK put into it', () => {
  const xml = Object.assign(new Error('<Error>\n  <Code>Oops</Code>\n</Error>'), { name: 'Oops', $metadata: { httpStatusCode: 400 } });
  expect(toDrainError(xml).message).toBe('Oops: <Error> <Code>Oops</Code> </Error>');
  expect(toDrainError(new RetriesExhausted(TRANSIENT_ERRORS.ECONNRESET(), 'attempts', 6)).message).toBe('AWS kept failing after 6 attempts (Error: socket hang up)');
  expect(toDrainError(new RetriesExhausted(TRANSIENT_ERRORS['request timeout (TimeoutError)'](), 'deadline', 4))).toMatchObject({ code: 'TIMEOUT' });
});
