import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ContextSource, loadConfig } from '../../../lib/config';
import { TEST_CERTIFICATE_ARN } from '../../support/stack';

function context(values: Record<string, unknown>): { source: ContextSource; keys: string[] } {
  return { source: { tryGetContext: (key) => values[key] }, keys: Object.keys(values) };
}

test('reads the albatross object from context', () => {
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN, loadBalancer: { idleTimeoutSeconds: 90 } } });
  expect(loadConfig(source, keys).loadBalancer.idleTimeoutSeconds).toBe(90);
});

test('a -c albatross.<path>=<value> override wins over the object and is parsed as JSON', () => {
  const { source, keys } = context({
    albatross: { certificateArn: TEST_CERTIFICATE_ARN, loadBalancer: { idleTimeoutSeconds: 90 } },
    'albatross.loadBalancer.idleTimeoutSeconds': '120',
    'albatross.loadBalancer.deletionProtection': 'false',
  });
  const config = loadConfig(source, keys);
  expect(config.loadBalancer.idleTimeoutSeconds).toBe(120);
  expect(config.loadBalancer.deletionProtection).toBe(false);
});

test('a config file named by albatross.configFile is merged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-config-'));
  const file = join(dir, 'prod.json');
  writeFileSync(file, JSON.stringify({ capacity: { minCapacity: 4, desiredCapacity: 4 } }));
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN }, 'albatross.configFile': file });
  expect(loadConfig(source, keys).capacity.minCapacity).toBe(4);
});

test('an unreadable or invalid config file is a ConfigError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-config-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ nope');
  expect(() => loadConfig(context({ 'albatross.configFile': bad }).source, ['albatross.configFile'])).toThrow(/configFile ".*bad.json" is not valid JSON/);
  expect(() => loadConfig(context({ 'albatross.configFile': join(dir, 'missing.json') }).source, ['albatross.configFile'])).toThrow(ConfigError);
});

test('null removes a default service', () => {
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN, services: { static: null }, rules: [{ priority: 1, conditions: { pathPatterns: ['/api/*'] }, action: { forward: 'api' } }] } });
  expect(Object.keys(loadConfig(source, keys).services).sort()).toEqual(['api', 'web', 'web-canary']);
});

test('-c overrides reach one service and the default action: a canary weight changed on the command line', () => {
  const { source, keys } = context({
    albatross: { certificateArn: TEST_CERTIFICATE_ARN },
    'albatross.services.web-canary.image': 'traefik/whoami:v1.11.1',
    'albatross.defaultAction': '{"forward":{"web":50,"web-canary":50}}',
  });
  const config = loadConfig(source, keys);
  expect(config.services['web-canary'].image).toBe('traefik/whoami:v1.11.1');
  expect(config.services.web.image).toBe('traefik/whoami:v1.11.0');
  expect(config.defaultAction).toEqual({ forward: { web: 50, 'web-canary': 50 } });
});

test('a non-object albatross context is rejected', () => {
  expect(() => loadConfig(context({ albatross: 'yes' }).source, ['albatross'])).toThrow('context "albatross" must be an object');
});

test('a misspelled -c albatross.<path> override is an error naming the nearest known setting', () => {
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN }, 'albatross.loadBalancer.idleTimeoutSecond': '5' });
  expect(() => loadConfig(source, keys)).toThrow('loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?');
});

test('services that are no object are rejected, not replaced by the defaults', () => {
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN, services: 5 } });
  expect(() => loadConfig(source, keys)).toThrow('services must be an object of services by name (got 5)');
});

test('a misspelled key in a config file is reported with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-config-'));
  const file = join(dir, 'prod.json');
  writeFileSync(file, JSON.stringify({ capacity: { minCapacty: 4 } }));
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN }, 'albatross.configFile': file });
  expect(() => loadConfig(source, keys)).toThrow('capacity.minCapacty is not a known setting; did you mean capacity.minCapacity?');
});

test("bench/one-service.json, the synth benchmark's one-service stack, is a valid config of one service", () => {
  const { source, keys } = context({ albatross: { certificateArn: TEST_CERTIFICATE_ARN }, 'albatross.configFile': join(__dirname, '..', '..', '..', 'bench', 'one-service.json') });
  const config = loadConfig(source, keys);
  expect(Object.keys(config.services)).toEqual(['web']);
  expect(config.defaultAction).toEqual({ forward: { web: 1 } });
});
