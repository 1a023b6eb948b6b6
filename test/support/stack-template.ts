/**
 * The synthesized stack's CloudFormation template for a partial config, for the suites that only
 * read the template (the proxy, the CLIs, the container, cfn-lint).
 *
 * Loading aws-cdk-lib and the stack and synthesizing takes seconds in every suite, and a dozen
 * suites ask for the same few configs. So within one jest run a template is synthesized once per
 * config and shared through the run directory of test/support/global-setup.js: the sources do not
 * change during a run, so the shared template is the one this suite would synthesize. Without a run
 * directory (another runner) every call synthesizes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../lib/config';

/**
 * A config that turns on every optional feature: domain, alarm e-mail, slow start, anomaly
 * mitigation, container environment, three AZs, and rules with every condition kind, a weighted
 * forward with target-group stickiness and a fixed response (each rule within the ALB's 5 values).
 */
export const EVERY_FEATURE: ConfigOverrides = {
  certificateArn: '',
  domain: { name: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
  alarms: { email: 'oncall@example.com' },
  services: {
    web: { slowStartSeconds: 60, environment: { APP_MODE: 'production', FEATURE_FLAGS: 'a,b' } },
    api: { algorithm: 'weighted_random', anomalyMitigation: true },
  },
  rules: [
    { priority: 5, conditions: { hostHeaders: ['api.example.com'], httpRequestMethods: ['GET', 'POST'], sourceIps: ['192.0.2.0/24', '2001:db8::/32'] }, action: { forward: 'api' } },
    {
      priority: 10,
      conditions: { pathPatterns: ['/api/*'], httpHeaders: [{ name: 'X-Canary', values: ['on'] }], queryStrings: [{ key: 'version', value: '2' }, { value: 'beta' }] },
      action: { forward: { api: 80, static: 20 }, groupStickinessSeconds: 300 },
    },
    { priority: 20, conditions: { pathPatterns: ['/static/*'] }, action: { forward: 'static' } },
    { priority: 30, conditions: { pathPatterns: ['/maintenance'] }, action: { fixedResponse: { statusCode: 503, contentType: 'application/json', body: '{"status":"maintenance"}' } } },
  ],
  env: { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
};

/** The template of `synthStack(partial)` (test/support/stack.ts), as JSON. */
export function stackTemplate(partial: ConfigOverrides = {}): Record<string, unknown> {
  const runDir = process.env.ALBATROSS_TEST_RUN_DIR;
  if (!runDir) return synthesize(partial);
  const dir = join(runDir, 'templates');
  const file = join(dir, `${createHash('sha256').update(JSON.stringify(partial)).digest('hex')}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const template = synthesize(partial);
  mkdirSync(dir, { recursive: true });
  // Written aside and renamed: a suite in another worker reads a whole file or none.
  const partFile = `${file}.${process.pid}.part`;
  writeFileSync(partFile, JSON.stringify(template));
  renameSync(partFile, file);
  return template;
}

function synthesize(partial: ConfigOverrides): Record<string, unknown> {
  // Required here, not imported at the top: a suite whose templates are all shared never loads aws-cdk-lib.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { synthStack } = require('./stack') as typeof import('./stack');
  return synthStack(partial).template.toJSON() as Record<string, unknown>;
}
