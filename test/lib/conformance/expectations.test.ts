/** What the conformance suite expects, read from templates the stack synthesizes. */
import { readExpectations, tlsVersions } from '../../../lib/conformance/expectations';
import { greaterThanPattern } from '../../../lib/waf/content-length';
import { synthStack } from '../../support/stack';

describe('TLS versions from the ELB security policy name', () => {
  test.each([
    ['ELBSecurityPolicy-TLS13-1-2-2021-06', ['TLSv1.2', 'TLSv1.3'], []],
    ['ELBSecurityPolicy-TLS13-1-3-2021-06', ['TLSv1.3'], ['TLSv1.2']],
    ['ELBSecurityPolicy-TLS13-1-0-2021-06', ['TLSv1.2', 'TLSv1.3'], []],
    ['ELBSecurityPolicy-TLS-1-2-2017-01', ['TLSv1.2'], ['TLSv1.3']],
  ])('%s', (policy, accepted, refused) => {
    expect(tlsVersions(policy)).toEqual({ accepted, refused });
  });

  test('an unknown policy gives no expectation (the check is skipped, not guessed)', () => {
    expect(tlsVersions('ELBSecurityPolicy-FS-1-2-Res-2020-10')).toBeUndefined();
  });
});

test('the default template: policy, HTTP port, body-limit probe and rules come from the template', () => {
  const { template, config } = synthStack();
  const x = readExpectations(template.toJSON());
  expect(x.tls?.policy).toBe(config.loadBalancer.tlsPolicy);
  expect(x.httpPort).toBe(80);
  const overLimit = x.bodyLimit!.overLimit;
  expect(overLimit).toBeGreaterThan(config.waf.maxBodyBytes);
  expect(new RegExp(greaterThanPattern(config.waf.maxBodyBytes)).test(String(overLimit))).toBe(true);
  expect(x.bodyLimit).toEqual({ rule: 'DeclaredBodySizeLimit', overLimit: 10_000_000, status: 413 });
  // Since issue 12 the sticky service is the default action's (web, beside its canary, by weight and
  // with AWSALBTG): the suite checks that stickiness through the default action, the rules by service.
  const action = config.defaultAction as { forward: Record<string, number>; groupStickinessSeconds: number };
  expect(x.defaultForward).toEqual({ groups: Object.entries(action.forward).map(([name, weight]) => ({ name, weight })), groupStickinessSeconds: action.groupStickinessSeconds });
  expect(Object.values(x.model.targetGroups).find((g) => g.name === x.defaultGroup)!.stickiness).toMatchObject({ enabled: true, type: 'lb_cookie' });
  expect(x.forwards.map((f) => [f.pattern, f.headers, f.groups])).toEqual([
    ['Host api.*', { host: 'api.example' }, ['api']],
    ['/api/*', {}, ['api']],
    ['/static/*', {}, ['static']],
  ]);
  expect(x.services.map((s) => [s.name, s.replicas])).toEqual(Object.entries(config.services).map(([name, s]) => [name, s.desiredCount]));
});

test('a different config flows through: TLS 1.3 only, a 1000-byte body limit', () => {
  const x = readExpectations(synthStack({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' }, waf: { maxBodyBytes: 1000 } }).template.toJSON());
  expect(x.tls).toEqual({ policy: 'ELBSecurityPolicy-TLS13-1-3-2021-06', accepted: ['TLSv1.3'], refused: ['TLSv1.2'] });
  expect(x.bodyLimit?.overLimit).toBe(10_000);
});
