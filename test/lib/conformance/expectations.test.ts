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
  expect(x.forwards.filter((f) => f.sticky).length).toBeGreaterThan(0);
});

test('a different config flows through: TLS 1.3 only, a 1000-byte body limit', () => {
  const x = readExpectations(synthStack({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' }, waf: { maxBodyBytes: 1000 } }).template.toJSON());
  expect(x.tls).toEqual({ policy: 'ELBSecurityPolicy-TLS13-1-3-2021-06', accepted: ['TLSv1.3'], refused: ['TLSv1.2'] });
  expect(x.bodyLimit?.overLimit).toBe(10_000);
});
