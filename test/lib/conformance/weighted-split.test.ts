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
  expect(x.forwards.map((f) => [f.pattern, f.path, f.headers, f.groups])).toEqual([
    ['Host api.*', '/', { host: 'api.example' }, ['api']],
    ['/api/*', '/api/x', {}, ['api']],
    ['/static/*', '/static/x', {}, ['static']],
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

/**
 * Answers as the sample apps behind a load balancer with target group stickiness would: the n-th
 * request without a cookie goes to `pick(n)`, and `honour` decides whether a request holding an
 * AWSALBTG cookie stays on the service the cookie names.
 */
function stickyClient(pick: (n: number) => string, honour: boolean): ConformanceClient {
  let sent = 0;
  return {
    send: async (_url: URL, init?: { headers?: Record<string, string> }): Promise<Answer> => {
      const held = /AWSALBTG=([\w-]+)/.exec(init?.headers?.cookie ?? '')?.[1];
      const service = honour && held ? held : pick(sent++);
      return { status: 200, headers: { 'set-cookie': [`AWSALBTG=${service}; Path=/`] }, body: JSON.stringify({ name: `${service}-1`, service }) };
    },
  } as unknown as ConformanceClient;
}

describe('group stickiness check', () => {
  const sticky = conformanceChecks(x).find((c) => c.name.startsWith('HTTPS default action is sticky to its group'))!;

  test('passes when AWSALBTG keeps the client on the canary it first reached', async () => {
    const outcome = await sticky.run({ x, target, client: stickyClient((n) => (n % 10 === 9 ? 'web-canary' : 'web'), true) });
    expect(outcome).toEqual({ status: 'pass', detail: expect.stringMatching(/^10 requests with AWSALBTG of web-canary \(weight 10\): service web-canary/) });
  });

  test('fails when the load balancer sets AWSALBTG but ignores it, even though the requests after the first land on web anyway', async () => {
    // Only the 16th request without a cookie reaches the canary: a check that started on web and
    // sent ten more would see web every time, and pass.
    const outcome = await sticky.run({ x, target, client: stickyClient((n) => (n === 15 ? 'web-canary' : 'web'), false) });
    expect(outcome.status).toBe('fail');
  });

  test('fails when the lightest group is never reached without a cookie', async () => {
    const outcome = await sticky.run({ x, target, client: stickyClient(() => 'web', true) });
    expect(outcome).toEqual({ status: 'fail', detail: 'none of 100 requests without cookies reached web-canary (weight 10)' });
  });
});

describe('rule checks by the answering service', () => {
  const hostRule = conformanceChecks(x).find((c) => c.name === 'rule Host api.* forwards to the api group')!;
  const answeredBy = (service: string) => ({ send: async (): Promise<Answer> => ({ status: 200, headers: {}, body: JSON.stringify({ name: `${service}-1`, service }) }) }) as unknown as ConformanceClient;

  test("a deployed app that names its service passes only when the rule's service answered", async () => {
    expect(await hostRule.run({ x, target, client: answeredBy('api') })).toEqual({ status: 'pass', detail: "/ (Host api.example): 200 from api-1 (service api, not the default action's web, web-canary)" });
    expect(await hostRule.run({ x, target, client: answeredBy('web') })).toEqual({ status: 'fail', detail: '/ (Host api.example): 200 from web-1 (service web)' });
  });

  test('a rule forwarding to two services by weight accepts either', async () => {
    const weighted = readExpectations(stackTemplate({ rules: [{ priority: 1, conditions: { pathPatterns: ['/api/*'] }, action: { forward: { api: 1, static: 1 } } }] }));
    expect(weighted.forwards.map((f) => f.groups)).toEqual([['api', 'static']]);
    const check = conformanceChecks(weighted).find((c) => c.name === 'rule /api/* forwards to the api, static groups')!;
    for (const service of ['api', 'static']) expect((await check.run({ x: weighted, target, client: answeredBy(service) })).status).toBe('pass');
    expect((await check.run({ x: weighted, target, client: answeredBy('web') })).status).toBe('fail');
  });
});

test('a fixed-response default action: no default forward, its checks are skipped, the suite does not throw', async () => {
  const x2 = readExpectations(stackTemplate({ services: { web: null, 'web-canary': null }, defaultAction: { fixedResponse: { statusCode: 404, contentType: 'text/plain', body: 'no route' } } }));
  expect(x2.defaultForward).toBeUndefined();
  expect(x2.defaultGroup).toBeUndefined();
  const checks = conformanceChecks(x2, { backends: {}, addresses: {} });
  const client = answeredByApi();
  for (const name of ['HTTPS default action splits by weight', 'HTTPS default action is sticky to its group', 'deregistering a target under load']) {
    const check = checks.find((c) => c.name.startsWith(name))!;
    expect([name, (await check.run({ x: x2, target: { ...target, adminUrl: 'http://127.0.0.1:3' }, client })).status]).toEqual([name, 'skip']);
  }
  expect(checks.some((c) => c.name.startsWith('HTTPS default action forwards'))).toBe(false);
});

function answeredByApi(): ConformanceClient {
  return { send: async (): Promise<Answer> => ({ status: 200, headers: {}, body: JSON.stringify({ name: 'api-1', service: 'api' }) }) } as unknown as ConformanceClient;
}
