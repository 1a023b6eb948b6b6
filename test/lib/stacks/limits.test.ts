/**
 * MAX_SERVICES is what one stack always holds: with every optional feature, MAX_SERVICES services
 * and the ALB's 100 rules, the template stays within CloudFormation's 500 resources, and one
 * service more would not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../../lib/config';
import { MAX_RULES_PER_LOAD_BALANCER } from '../../../lib/alb/listener-rule-limits';
import { MAX_RESOURCES_PER_STACK, MAX_SERVICES } from '../../../lib/stacks/limits';
import { synthStack } from '../../support/stack';
import { EVERY_FEATURE } from '../../support/stack-template';

function resourceCount(partial: ConfigOverrides): number {
  return Object.keys((synthStack(partial).template.toJSON() as { Resources: Record<string, unknown> }).Resources).length;
}

/** The every-feature config with services up to `services` and rules up to the ALB's limit, each extra service behind a rule of its own. */
function largest(services: number): ConfigOverrides {
  const everyRule = EVERY_FEATURE.rules!;
  const extra = Array.from({ length: services - 4 }, (_, i) => `extra${i}`);
  const routeExtra = extra.map((name, i) => ({ priority: 100 + i, conditions: { pathPatterns: [`/${name}/*`] }, action: { forward: name } }));
  const filler = Array.from({ length: MAX_RULES_PER_LOAD_BALANCER - everyRule.length - routeExtra.length }, (_, i) => ({
    priority: 1000 + i,
    conditions: { pathPatterns: [`/filler${i}/*`] },
    action: { forward: 'web' },
  }));
  return { ...EVERY_FEATURE, services: { ...EVERY_FEATURE.services, ...Object.fromEntries(extra.map((name) => [name, {}])) }, rules: [...everyRule, ...routeExtra, ...filler] };
}

test('MAX_SERVICES services, every feature and 100 rules fit in one stack; one more service would not', () => {
  const full = resourceCount(largest(MAX_SERVICES));
  expect(full).toBeLessThanOrEqual(MAX_RESOURCES_PER_STACK);
  // What one service adds: the default layout against it without `static` (its rule kept, sent to web).
  const withoutStatic: ConfigOverrides = { services: { static: null }, rules: [{ priority: 20, conditions: { pathPatterns: ['/static/*'] }, action: { forward: 'web' } }, { priority: 10, conditions: { pathPatterns: ['/api/*'] }, action: { forward: 'api' } }] };
  const withStatic: ConfigOverrides = { rules: [{ priority: 20, conditions: { pathPatterns: ['/static/*'] }, action: { forward: 'static' } }, { priority: 10, conditions: { pathPatterns: ['/api/*'] }, action: { forward: 'api' } }] };
  const perService = resourceCount(withStatic) - resourceCount(withoutStatic);
  expect(perService).toBeGreaterThan(10);
  expect(full + perService).toBeGreaterThan(MAX_RESOURCES_PER_STACK);
}, 120_000);

test("the README's configuration table and the schema's documentation state MAX_SERVICES", () => {
  const root = join(__dirname, '..', '..', '..');
  expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`| 1–${MAX_SERVICES} services,`);
  expect(readFileSync(join(root, 'lib', 'config', 'schema.ts'), 'utf8')).toContain(`(at most ${MAX_SERVICES}, for CloudFormation's 500 resources`);
});
