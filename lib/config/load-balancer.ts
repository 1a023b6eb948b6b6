/** The Application Load Balancer, its listeners and the response headers they inject. */

import { z } from 'zod';
import { DESYNC_MITIGATION_MODES, FRAME_OPTIONS, MODERN_TLS_POLICIES } from './allowed';
import { report, whenValid } from './checks';
import { flag, integer, matching, oneOf, section, Settings } from './fields';

/** Days the access log bucket keeps objects: at least a day, at most ten years. */
export const ACCESS_LOG_RETENTION_DAYS_RANGE = { min: 1, max: 3650 } as const;

/** Response headers the HTTPS listener injects (ALB listener attributes). */
export const securityHeadersSchema = section({
  /** `Strict-Transport-Security` value. @default 'max-age=31536000; includeSubDomains; preload' */
  strictTransportSecurity: matching(/^max-age=\d+/, 'an HSTS value starting with max-age=SECONDS'),
  /** `X-Content-Type-Options` value (only `nosniff` is valid). @default 'nosniff' */
  contentTypeOptions: oneOf(['nosniff']),
  /** `X-Frame-Options` value. @default 'DENY' */
  frameOptions: oneOf(FRAME_OPTIONS),
  /** `Content-Security-Policy` value. @default "default-src 'self'; frame-ancestors 'none'" */
  contentSecurityPolicy: matching(/^[^\r\n]{1,1000}$/, 'a non-empty single-line policy of at most 1000 characters'),
  /** Remove the `Server: awselb/2.0` header. @default true */
  removeServerHeader: flag(),
});

/** The Application Load Balancer and its listeners. */
export const loadBalancerSchema = section({
  /** Protect the load balancer from deletion. @default true */
  deletionProtection: flag(),
  /** Connection idle timeout in seconds, 1–4000. @default 60 */
  idleTimeoutSeconds: integer(1, 4000),
  /**
   * TLS policy of the HTTPS listener: an `ELBSecurityPolicy-TLS13-1-2-*` or `-TLS13-1-3-*` policy
   * (TLS 1.3 offered, nothing older than TLS 1.2 accepted).
   * @default 'ELBSecurityPolicy-TLS13-1-2-2021-06'
   */
  tlsPolicy: oneOf(MODERN_TLS_POLICIES),
  /** How the load balancer treats requests that may cause HTTP desync. @default 'defensive' */
  desyncMitigationMode: oneOf(DESYNC_MITIGATION_MODES),
  /** HTTPS listener port, 1–65535. @default 443 */
  httpsPort: integer(1, 65535),
  /** HTTP listener port (it only redirects to HTTPS), 1–65535 and not the HTTPS port. @default 80 */
  httpPort: integer(1, 65535),
  /** Days to keep access logs in S3, 1–3650. @default 90 */
  accessLogRetentionDays: integer(ACCESS_LOG_RETENTION_DAYS_RANGE.min, ACCESS_LOG_RETENTION_DAYS_RANGE.max),
  /**
   * Response headers injected by the HTTPS listener.
   * @default - HSTS one year with preload, `nosniff`, `DENY`, a same-origin CSP, no `Server` header
   */
  securityHeaders: securityHeadersSchema,
}).superRefine((lb, ctx) => {
  if (lb.httpPort === lb.httpsPort) report(ctx, ['httpPort'], (at) => `must differ from ${at('httpsPort')} (${lb.httpsPort})`);
}, whenValid(['httpPort'], ['httpsPort']));

export type SecurityHeadersConfig = Settings<z.output<typeof securityHeadersSchema>>;
export type LoadBalancerConfig = Settings<z.output<typeof loadBalancerSchema>>;
