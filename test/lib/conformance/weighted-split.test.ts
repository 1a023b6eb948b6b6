/**
 * What the suite expects of the default template with its several services, and the
 * weighted-split check's verdicts on split answers. A
 * client stub at the client boundary: this is about counting and tolerance, not about sockets
 * (test/bin/conformance.test.ts runs the suite over real ones).
 */
import { Answer, ConformanceClient } from '../../../lib/conformance/client';
import { readExpectations } from '../../../lib/conformance/expectations';
import { conformanceChecks, splitRequests } from '../../../lib/conformance/suite';
import { stackTemplate } from '../../support/stack-template';

const x = readExpectations(stackTemplate(), 'template');

test('the expectations come from the template: weighted default, host and path rules, services with their counts', () => {
  expect(x.defaultForward).toEqual({ groups: [{ name: 'web', weight: 90 }, { name: 'web-canary', weight: 10 }], groupStickinessSeconds: 3600 });
  expect(x.defaultGroup).toBe('web');
  expect(x.forwards.map((f) => [f.pattern, f.path, f.headers, f.group])).toEqual([
    ['Host api.*', '/', { host: 'api.example' }, 'api'],
    ['/api/*', '/api/x', {}, 'api'],
    ['/static/*', '/static/x', {}, 'static'],
  ]);
  expect(x.services.map((s) => [s.name, s.replicas])).toEqual([['web', 2], ['web-canary', 1], ['api', 2], ['static', 2]]);
});

test('a rule an earlier rule shadows for its probe is not probed', () => {
  const template = JSON.parse(JSON.stringify(stackTemplate())) as { Resources: Record<string, { Properties: { Conditions?: { Field: string }[] } }> };
  // The host rule now matches every host, so /api/x reaches it first.
  const hostRule = Object.values(template.Resources).find((r) => r.Properties.Conditions?.some((c) => c.Field === 'host-header'))!;
  hostRule.Properties.Conditions = [{ Field: 'host-header', HostHeaderConfig: { Values: ['*'] } } as { Field: string }];
  expect(readExpectations(template).forwards.map((f) => f.pattern)).toEqual(['Host *']);
});

/** Answers `/` as the sample apps would, the n-th request going to the service `pick(n)` names. */
function splitClient(pick: (n: number) => string): { client: ConformanceClient; sent: () => number } {
  let sent = 0;
  const client = {
    send: async (): Promise<Answer> => {
      const service = pick(sent++);
      return { status: 200, headers: {}, body: JSON.stringify({ name: `${service}-1`, service }) };
    },
  } as unknown as ConformanceClient;
  return { client, sent: () => sent };
}

const split = conformanceChecks(x).find((c) => c.name.startsWith('HTTPS default action splits by weight'))!;
const target = { httpsUrl: new URL('https://127.0.0.1:1'), httpUrl: new URL('http://127.0.0.1:2'), enforcesWebAcl: true };

test('the check names the weights, the request count and the false-failure probability', () => {
  expect(splitRequests(x)).toBe(400);
  expect(split.name).toBe('HTTPS default action splits by weight (web 90 / web-canary 10) over 400 requests without cookies, each count within its binomial range (false-failure probability ≤ 1e-6)');
});

test.each([
  ['exactly 90/10', (n: number) => (n % 10 === 0 ? 'web-canary' : 'web'), 'pass', 'web 360 (expected 360, accepted 327–386), web-canary 40 (expected 40, accepted 14–73)'],
  ['the low edge of the range, 14 to the canary', (n: number) => (n < 14 ? 'web-canary' : 'web'), 'pass', 'web 386 (expected 360, accepted 327–386), web-canary 14 (expected 40, accepted 14–73)'],
  ['one fewer, 13', (n: number) => (n < 13 ? 'web-canary' : 'web'), 'fail', 'web 387 (expected 360, accepted 327–386), web-canary 13 (expected 40, accepted 14–73)'],
  ['weights ignored, 50/50', (n: number) => (n % 2 ? 'web-canary' : 'web'), 'fail', 'web 200 (expected 360, accepted 327–386), web-canary 200 (expected 40, accepted 14–73)'],
  ['the canary never reached', () => 'web', 'fail', 'web 400 (expected 360, accepted 327–386), web-canary 0 (expected 40, accepted 14–73)'],
  ['answers from another service', (n: number) => (n % 10 === 0 ? 'api' : 'web'), 'fail', 'web 360 (expected 360, accepted 327–386), web-canary 0 (expected 40, accepted 14–73), 40 not 200 from these groups'],
])('%s', async (_case, pick, status, detail) => {
  const { client, sent } = splitClient(pick);
  expect(await split.run({ x, target, client })).toEqual({ status, detail });
  expect(sent()).toBe(400);
});

test('against an application that does not name its service the check is skipped, not guessed', async () => {
  const client = { send: async (): Promise<Answer> => ({ status: 200, headers: {}, body: 'hello' }) } as unknown as ConformanceClient;
  expect((await split.run({ x, target, client })).status).toBe('skip');
});
