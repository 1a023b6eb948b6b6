/**
 * The one configuration of an Albatross deployment, as a zod schema: the types the stack reads are
 * derived from it (`z.output`), so each field, its range and its documentation are written once.
 *
 * Every setting the cloud stack and the local proxy share is defined here once. The stack turns it
 * into CloudFormation; the local proxy reads that CloudFormation back, so no value is copied twice.
 *
 * Field documentation is JSDoc on the schema's properties rather than zod's `.describe()`: the
 * derived types keep JSDoc, so an editor shows it (with `@default`) on `config.loadBalancer.…`,
 * while `.describe()` text lives only at runtime.
 *
 * Each section is a strict object: an unknown key is an error that names the nearest known key.
 * A section lives in its own file (`deployment.ts`, `load-balancer.ts`, `target-groups.ts`,
 * `rules.ts`, `service.ts`, `waf.ts`, `alarms.ts`) with the rules between its own fields; the
 * rules between sections are in `cross-checks.ts`.
 */

import { z } from 'zod';
import { whenValid } from './checks';
import { checkCertificateEnvironment, checkCertificateSource, checkRouting } from './cross-checks';
import { alarmsSchema } from './alarms';
import { certificateArnSchema, domainSchema, environmentSchema, networkSchema, stackNameSchema } from './deployment';
import { section, Settings, unsettable } from './fields';
import { loadBalancerSchema } from './load-balancer';
import { listenerRulesSchema } from './rules';
import { capacitySchema, scalingSchema, serviceSchema } from './service';
import { targetGroupsSchema } from './target-groups';
import { wafSchema } from './waf';

export * from './allowed';
export * from './alarms';
export * from './deployment';
export * from './load-balancer';
export * from './rules';
export * from './service';
export * from './target-groups';
export * from './waf';
export type { Settings } from './fields';

/** The settings of a deployment, section by section. */
export const albatrossConfigShape = {
  /** CloudFormation stack name. @default 'Albatross' */
  stackName: stackNameSchema,
  /** Account, region and AZs. */
  env: environmentSchema,
  /**
   * ARN of an existing ACM certificate for the HTTPS listener, in the stack's own account and
   * region. Exactly one of `certificateArn` and `domain` is required; `cdk.json` holds a placeholder
   * in the default account so that synth works as is (remove it, or set it to `null`, when you set
   * `domain`).
   * @default - none
   */
  certificateArn: unsettable(certificateArnSchema),
  /**
   * A DNS name for the service: the stack requests a DNS-validated ACM certificate for it and
   * points A and AAAA alias records at the load balancer. Exactly one of `certificateArn` and
   * `domain` is required.
   * @default - none
   */
  domain: unsettable(domainSchema),
  /** The VPC. */
  network: networkSchema,
  /** Load balancer and listeners. */
  loadBalancer: loadBalancerSchema,
  /**
   * Target groups by name (at most 9: the 5xx-rate alarm sums their request counts in one metric
   * math expression of at most 10 metrics); the name is used in rules and in the local proxy's
   * `--targets`. A group named in the config starts from the defaults of the group of that name
   * (or of a new group); `null` removes a default group.
   * @default - `app` (round robin), `api` (least outstanding requests), `static` (sticky for a day)
   */
  targetGroups: targetGroupsSchema,
  /**
   * Path-based rules of the HTTPS listener.
   * @default - `/api/*` → api (10), `/static/*` → static (20), `/maintenance` → fixed 503 JSON (30)
   */
  rules: listenerRulesSchema,
  /** The ECS service. */
  service: serviceSchema,
  /** The Auto Scaling group. */
  capacity: capacitySchema,
  /** Scaling policies. */
  scaling: scalingSchema,
  /** WAF request-body and rate limits. */
  waf: wafSchema,
  /** Alarm thresholds. */
  alarms: alarmsSchema,
};

/** The whole configuration, with the rules between its sections. */
export const albatrossConfigSchema = section(albatrossConfigShape, 'an object of Albatross settings')
  .superRefine(checkCertificateSource, whenValid(['certificateArn']))
  .superRefine(checkCertificateEnvironment, whenValid(['certificateArn'], ['env', 'region'], ['env', 'account']))
  .superRefine(checkRouting, whenValid({ keysOf: ['targetGroups'] }, ['rules', '*', 'action'], ['service', 'defaultTargetGroup']));

/** Everything that describes one deployment, as validated. */
export type AlbatrossConfig = Settings<z.output<typeof albatrossConfigSchema>>;

/** A partial config as written in cdk.json context or a config file: any field may be left out. */
export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What a config may say over the defaults: any field left out, `null` where a setting can be unset. */
export type ConfigOverrides = DeepPartial<z.input<typeof albatrossConfigSchema>>;
