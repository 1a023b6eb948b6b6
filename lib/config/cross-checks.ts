/**
 * Rules between sections: the certificate against the domain and the environment, and the
 * listener's routing against the services. Each reads only the fields it names in its
 * `whenValid`, so a problem elsewhere does not hide it.
 */

import type { z } from 'zod';
import { report } from './checks';
import { CERTIFICATE_ARN } from './deployment';
import { shown } from './fields';
import type { RuleAction } from './rules';

type Ctx = z.core.$RefinementCtx<unknown>;

/** What the certificate rules read of the whole config. */
interface CertificateFields {
  readonly certificateArn?: string;
  readonly domain?: unknown;
  readonly env: { readonly account: string; readonly region: string };
}

function hasArn(config: CertificateFields): boolean {
  return config.certificateArn !== undefined && config.certificateArn !== '';
}

function hasDomain(config: CertificateFields): boolean {
  // Read even when the domain has problems of its own: being set is what counts here.
  return config.domain !== undefined && config.domain !== null;
}

/** Exactly one way to get the HTTPS listener's certificate: an existing one, or one for `domain`. */
export function checkCertificateSource(config: CertificateFields, ctx: Ctx): void {
  if (hasArn(config) !== hasDomain(config)) return;
  report(
    ctx,
    ['certificateArn'],
    hasArn(config)
      ? 'and domain are both set: set exactly one (remove the placeholder certificateArn of cdk.json when you use domain, e.g. `-c albatross.certificateArn=null`)'
      : 'or domain is required: pass the ARN of an ACM certificate (`-c albatross.certificateArn=arn:aws:acm:REGION:ACCOUNT:certificate/ID`) or a domain { name, hostedZoneId, hostedZoneName }',
  );
}

/**
 * A load balancer can only use a certificate of its own account and region; CloudFormation would
 * find out half-way through a deploy. This also catches a deploy that forgot to replace the
 * placeholder in cdk.json after changing env.account.
 */
export function checkCertificateEnvironment(config: CertificateFields, ctx: Ctx): void {
  const arn = hasDomain(config) ? null : CERTIFICATE_ARN.exec(config.certificateArn ?? '');
  if (!arn) return;
  const [, region, account] = arn;
  if (region !== config.env.region) report(ctx, ['certificateArn'], `must be a certificate in env.region ${config.env.region} (the ARN's region is ${region})`);
  if (account !== config.env.account) report(ctx, ['certificateArn'], `must be a certificate in env.account ${config.env.account} (the ARN's account is ${account})`);
}

/** What the routing rules read of the whole config. */
interface RoutingFields {
  readonly services: Readonly<Record<string, unknown>>;
  readonly rules: readonly { readonly action: RuleAction }[];
  readonly defaultAction: RuleAction;
}

/**
 * Every forward names services, and every service is forwarded to: a service no listener routes
 * to would have a target group without a load balancer, and ALB metrics and alarms need one.
 */
export function checkRouting(config: RoutingFields, ctx: Ctx): void {
  const names = Object.keys(config.services);
  const routed = new Set<string>();
  const checkForward = (action: RuleAction, path: (string | number)[]) => {
    if (!('forward' in action)) return;
    for (const service of Object.keys(action.forward)) {
      routed.add(service);
      if (!names.includes(service)) report(ctx, path, `must name a service (${names.join(', ')}; got ${shown(service)})`);
    }
  };
  checkForward(config.defaultAction, ['defaultAction', 'forward']);
  config.rules.forEach((rule, i) => checkForward(rule.action, ['rules', i, 'action', 'forward']));
  for (const name of names) {
    if (!routed.has(name)) report(ctx, ['services', name], 'is not used: forward to it from defaultAction or a rule (or remove it with null)');
  }
}
