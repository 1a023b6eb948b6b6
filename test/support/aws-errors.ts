/**
 * Errors as the AWS SDK v3 throws them (name, $fault, $metadata.httpStatusCode; Node's `code` for
 * socket errors), for fault injection at the SDK boundary. Each is one the SDK's own
 * classification calls transient or throttling.
 */
const sdkError = (name: string, status: number | undefined, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, $fault: status !== undefined && status >= 500 ? 'server' : 'client', $metadata: status === undefined ? {} : { httpStatusCode: status }, ...extra });

export const TRANSIENT_ERRORS: Record<string, () => Error> = {
  'HTTP 500 (ECS ServerException)': () => sdkError('ServerException', 500, 'Service encountered an error'),
  'HTTP 502': () => sdkError('Unknown', 502, 'Bad Gateway'),
  'HTTP 503 ServiceUnavailable': () => sdkError('ServiceUnavailable', 503, 'Service unavailable'),
  'HTTP 504': () => sdkError('Unknown', 504, 'Gateway Timeout'),
  ECONNRESET: () => sdkError('Error', undefined, 'socket hang up', { code: 'ECONNRESET' }),
  EPIPE: () => sdkError('Error', undefined, 'write EPIPE', { code: 'EPIPE' }),
  'request timeout (TimeoutError)': () => sdkError('TimeoutError', undefined, 'Connection timed out after 10000 ms'),
  Throttling: () => sdkError('Throttling', 400, 'Rate exceeded'),
  'SQS RequestThrottled': () => sdkError('RequestThrottled', 403, 'Request is throttled'),
};
