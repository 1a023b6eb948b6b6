/**
 * The listener's SslPolicy as Node TLS options: exactly the protocol versions and cipher suites
 * the ALB offers for it, in its order of preference (the ALB picks the first of its own list the
 * client supports).
 *
 * Source: "Security policies for your Application Load Balancer", ELB guide,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 * (the protocol and cipher tables; DescribeSSLPolicies returns the same lists).
 */
import { getCiphers, SecureVersion } from 'node:tls';

/** One ALB security policy. */
export interface SslPolicyFacts {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** AWS cipher names, in the policy's order of preference. */
  readonly ciphers: readonly string[];
}

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const ECDHE_GCM_128 = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'];
const ECDHE_SHA256 = ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256'];
const ECDHE_SHA1_128 = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA'];
const ECDHE_GCM_256 = ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];
const ECDHE_SHA384 = ['ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384'];
const ECDHE_SHA1_256 = ['ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA'];
const RSA_128 = ['AES128-GCM-SHA256', 'AES128-SHA256'];
const RSA_256 = ['AES256-GCM-SHA384', 'AES256-SHA256'];

/**
 * The TLS 1.3 policies of 2021-06 (the family the stack's configuration allows, its default
 * `ELBSecurityPolicy-TLS13-1-2-2021-06` included).
 */
export const SSL_POLICIES: Readonly<Record<string, SslPolicyFacts>> = {
  'ELBSecurityPolicy-TLS13-1-2-2021-06': {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_SUITES, ...ECDHE_GCM_128, ...ECDHE_SHA256, ...ECDHE_GCM_256, ...ECDHE_SHA384],
  },
  'ELBSecurityPolicy-TLS13-1-2-Res-2021-06': {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_SUITES, ...ECDHE_GCM_128, ...ECDHE_GCM_256],
  },
  'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06': {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_SUITES, ...ECDHE_GCM_128, ...ECDHE_SHA256, ...ECDHE_GCM_256, ...ECDHE_SHA384, ...RSA_128, ...RSA_256],
  },
  'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06': {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_SUITES, ...ECDHE_GCM_128, ...ECDHE_SHA256, ...ECDHE_SHA1_128, ...ECDHE_GCM_256, ...ECDHE_SHA384, ...ECDHE_SHA1_256, 'AES128-GCM-SHA256', 'AES128-SHA256', 'AES128-SHA', 'AES256-GCM-SHA384', 'AES256-SHA256', 'AES256-SHA'],
  },
  'ELBSecurityPolicy-TLS13-1-3-2021-06': { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: TLS13_SUITES },
};

/** What a Node TLS server takes to offer one policy. */
export interface TlsPolicyOptions {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher string: TLS 1.3 suites and TLS 1.2 ciphers together (Node splits them). */
  readonly ciphers: string;
  /** The server's order decides, as on the ALB. */
  readonly honorCipherOrder: true;
}

/**
 * AWS cipher names to OpenSSL names. The ELB tables use OpenSSL's own spelling (`ECDHE-RSA-AES128-GCM-SHA256`,
 * `TLS_AES_128_GCM_SHA256`), so the map is the identity; it still checks that this Node's OpenSSL
 * knows each one, so a policy is never offered with a cipher silently missing.
 */
export function openSslCipherName(awsName: string, known: ReadonlySet<string> = KNOWN_CIPHERS): string {
  if (!known.has(awsName.toLowerCase())) throw new Error(`cipher ${awsName} is not available in this Node's OpenSSL (${process.versions.openssl})`);
  return awsName;
}

const KNOWN_CIPHERS: ReadonlySet<string> = new Set(getCiphers());

/** The TLS options for a listener's SslPolicy; an unknown or unreproduced policy fails, naming the listener. */
export function tlsPolicyOptions(policy: string | undefined, listener: string): TlsPolicyOptions {
  const name = policy ?? CLOUDFORMATION_DEFAULT_POLICY;
  const facts = SSL_POLICIES[name];
  if (facts === undefined) {
    const why = policy === undefined ? ` (the CloudFormation default when the listener sets no SslPolicy)` : '';
    throw new Error(`listener ${listener}: SslPolicy ${name}${why} is not one the local proxy reproduces; supported: ${Object.keys(SSL_POLICIES).join(', ')}`);
  }
  return {
    minVersion: facts.minVersion,
    maxVersion: facts.maxVersion,
    ciphers: facts.ciphers.map((c) => openSslCipherName(c)).join(':'),
    honorCipherOrder: true,
  };
}

/** What CloudFormation applies to an HTTPS listener without SslPolicy. */
export const CLOUDFORMATION_DEFAULT_POLICY = 'ELBSecurityPolicy-2016-08';
