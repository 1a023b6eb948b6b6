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
 * A section lives in its own file (`deployment.ts`, `load-balancer.ts`, `service.ts` with
 * `target-groups.ts`, `rules.ts`, `waf.ts`, `alarms.ts`) with the rules between its own fields; the
 * rules between sections are in `cross-checks.ts`.
 */

import { z } from 'zod';
import { whenValid } from './checks';
import { checkCertificateEnvironment, checkCertificateSource, checkRouting } from './cross-checks';
import { alarmsSchema } from './alarms';
import { certificateArnSchema, domainSchema, environmentSchema, networkSchema, stackNameSchema } from './deployment';
import { section, Settings, unsettable } from './fields';
import { loadBalancerSchema } from './load-balancer';
import { retiredSettings } from './retired';
import { listenerRulesSchema, ruleActionSchema } from './rules';
import { capacitySchema, servicesSchema } from './service';
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
   * The services behind the load balancer by name (at most 9), each its own ECS service with its own
   * container, target group and scaling, all on the one Auto Scaling group. A service named in the
   * config starts from the default service of that name (a new name from `DEFAULT_SERVICE`, round robin);
   * `null` removes a default service.
   * @default - `web` (sticky), `web-canary` (its next revision), `api` (least outstanding requests), `static`
   */
  services: servicesSchema,
  /**
   * What the HTTPS listener does when no rule matches: forward to a service, to weighted services
   * (a canary), or a fixed response.
   * @default - `{ "forward": { "web": 90, "web-canary": 10 }, "groupStickinessSeconds": 3600 }`
   */
  defaultAction: ruleActionSchema,
  /**
   * Rules of the HTTPS listener, by priority (at most 100).
   * @default - Host `api.*` → api (5), `/api/*` → api (10), `/static/*` → static (20), `/maintenance` → fixed 503 JSON (30)
   */
  rules: listenerRulesSchema,
  /** The Auto Scaling group. */
  capacity: capacitySchema,
  /** WAF request-body and rate limits. */
  waf: wafSchema,
  /** Alarm thresholds. */
  alarms: alarmsSchema,
};

/** The whole configuration, with the rules between its sections. */
export const albatrossConfigSchema = section(albatrossConfigShape, 'an object of Albatross settings')
  .superRefine(checkCertificateSource, whenValid(['certificateArn']))
  .superRefine(checkCertificateEnvironment, whenValid(['certificateArn'], ['env', 'region'], ['env', 'account']))
  .superRefine(checkRouting, whenValid({ keysOf: ['services'] }, ['rules', '*', 'action'], ['defaultAction']));

const movedToServices = (what: string) => () =>
  `was replaced by services.<name>: ${what} (one service per target group; see README, "Migrating to services")`;
retiredSettings.set(albatrossConfigSchema, {
  service: movedToServices('move image, containerPort, cpu, memoryReservationMiB, desiredCount, maxCount and the rest into each service, and service.defaultTargetGroup into defaultAction { "forward": "<service>" }'),
  targetGroups: movedToServices("move each group's healthCheck, deregistrationDelaySeconds, algorithm, slowStartSeconds and stickinessSeconds into the service it fronts"),
  scaling: movedToServices('move cpuTargetPercent, requestsPerTarget and the cooldowns into services.<name>.scaling'),
});

/** Everything that describes one deployment, as validated. */
export type AlbatrossConfig = Settings<z.output<typeof albatrossConfigSchema>>;

/** A partial config as written in cdk.json context or a config file: any field may be left out. */
export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

type ConfigInput = z.input<typeof albatrossConfigSchema>;

/**
 * What a config may say over the defaults: any field left out, `null` where a setting can be unset,
 * and `null` for a default service to remove it.
 */
export type ConfigOverrides = DeepPartial<Omit<ConfigInput, 'services'>> & {
  services?: Record<string, DeepPartial<ConfigInput['services'][string]> | null>;
};
