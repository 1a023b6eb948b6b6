/** Where the stack deploys, its name, and how its HTTPS listener gets a certificate. */

import { z } from 'zod';
import { report, whenValid } from './checks';
import { LOG_RETENTION_DAYS } from './allowed';
import { listOf, matching, oneOf, section, Settings, shown } from './fields';

/** Where the stack deploys. Fixed values keep `cdk synth` free of lookups and credentials. */
export const environmentSchema = section({
  /** AWS account id (12 digits). @default '123456789012' (a placeholder: set yours to deploy) */
  account: matching(/^\d{12}$/, 'a 12-digit AWS account id'),
  /** AWS region. @default 'eu-west-1' */
  region: matching(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
  /**
   * Availability zones to spread the VPC and the load balancer over, given explicitly so that synth
   * never asks EC2 for them. At least two.
   * @default ['eu-west-1a', 'eu-west-1b']
   */
  availabilityZones: listOf(
    matching(/^[a-z0-9-]+$/, 'an availability zone such as eu-west-1a'),
    2,
    Number.MAX_SAFE_INTEGER,
    (got) => `must list at least 2 availability zones (got ${got})`,
  ),
}).superRefine((env, ctx) => {
  env.availabilityZones.forEach((az, i) => {
    // A zone that is no string has its own issue already.
    if (typeof az === 'string' && !az.startsWith(env.region)) report(ctx, ['availabilityZones', i], `must be a zone of ${env.region} (got ${shown(az)})`);
  });
}, whenValid(['region'], { keysOf: ['availabilityZones'] }));

/** Lower-case DNS labels of 1–63 letters, digits and inner dashes; at least two labels. */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name for the service in a Route 53 public hosted zone of the account. */
export const domainSchema = section({
  /** The service's DNS name, e.g. `app.example.com`: the certificate's name and the A/AAAA alias records. */
  name: matching(DNS_NAME, 'a lower-case DNS name such as app.example.com, without a trailing dot'),
  /** ID of the hosted zone the name is in, e.g. `Z0123456789ABCDEFGHIJ` (no lookup at synth). */
  hostedZoneId: matching(/^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ'),
  /** Name of that hosted zone, e.g. `example.com`; `name` must be it or a name below it. */
  hostedZoneName: matching(DNS_NAME, 'a lower-case DNS zone name such as example.com, without a trailing dot'),
}).superRefine((d, ctx) => {
  if (d.name !== d.hostedZoneName && !d.name.endsWith(`.${d.hostedZoneName}`)) {
    report(ctx, ['name'], (at) => `must be ${at('hostedZoneName')} ${shown(d.hostedZoneName)} or a name below it (got ${shown(d.name)})`);
  }
}, whenValid(['name'], ['hostedZoneName']));

/** An ACM certificate ARN; its region and account are checked against `env` (`cross-checks.ts`). */
export const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;

/** `''` leaves the certificate unset, as `null` does. */
export const certificateArnSchema = matching(new RegExp(`^$|${CERTIFICATE_ARN.source}`), 'an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)');

export const stackNameSchema = matching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name');

export type EnvironmentConfig = Settings<z.output<typeof environmentSchema>>;
export type DomainConfig = Settings<z.output<typeof domainSchema>>;

/** The VPC. */
export const networkSchema = section({
  /** Days to keep the VPC flow logs of rejected traffic (a value CloudWatch Logs accepts). @default 30 */
  flowLogRetentionDays: oneOf(LOG_RETENTION_DAYS),
});

export type NetworkConfig = Settings<z.output<typeof networkSchema>>;
