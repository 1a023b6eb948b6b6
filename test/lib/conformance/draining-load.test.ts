/**
 * The draining check's load comes from one client address, so it stays below the web ACL's rate
 * limit that covers every path: past it WAF would block the load itself (locally as on AWS), and
 * the check would report the drain as losing requests. A client stub at the client boundary: this
 * is about how many requests the check sends, not about sockets.
 */
import { Answer, ConformanceClient } from '../../../lib/conformance/client';
import { readExpectations } from '../../../lib/conformance/expectations';
import { conformanceChecks } from '../../../lib/conformance/suite';
import { synthStack } from '../../support/stack';

function stubClient(): { client: ConformanceClient; work: () => number } {
  let work = 0;
  const answer = (status: number, body: unknown): Answer => ({ status, headers: {}, body: JSON.stringify(body) });
  const client = {
    send: async (url: URL | string): Promise<Answer> => {
      await new Promise((r) => setImmediate(r));
      const path = new URL(String(url)).pathname;
      if (path === '/work') return answer(200, { name: `app${(work++ % 2) + 1}` });
      if (path === '/targets') return answer(200, { targetGroups: [{ name: 'app', targets: [{ id: '127.0.0.1:1', state: 'draining' }] }] });
      return answer(200, {});
    },
  } as unknown as ConformanceClient;
  return { client, work: () => work };
}

test('the load stays at half the general rate limit of the web ACL, with requests before and during the drain', async () => {
  const x = readExpectations(synthStack({ waf: { generalRateLimit: { limit: 800, windowSeconds: 60 } } }).template.toJSON());
  const checks = conformanceChecks(x, { backends: { [x.defaultGroup!]: ['app1', 'app2'] }, addresses: { app1: '127.0.0.1:1', app2: '127.0.0.1:2' } });
  const drain = checks.find((c) => c.name === 'deregistering a target under load loses no request')!;
  const { client, work } = stubClient();
  const target = { httpsUrl: new URL('https://127.0.0.1:1'), httpUrl: new URL('http://127.0.0.1:2'), adminUrl: 'http://127.0.0.1:3', enforcesWebAcl: true };
  const outcome = await drain.run({ x, target, client });
  expect(work()).toBe(400);
  expect(outcome).toEqual({ status: 'pass', detail: '400 requests, 0 errors' });
});
