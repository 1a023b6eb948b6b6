/** The local proxy's in-flight probe, with fetch stubbed (it is a plain HTTP call, not AWS). */
import { proxyAdminInFlight } from '../../../lib/drain/signals';

const registration = { targetGroupArn: 'arn:…:targetgroup/api/1', targetGroupName: 'api', id: '127.0.0.1', port: 9001, state: 'draining', deregistrationDelaySeconds: 30 };
const answer = (body: unknown) => (async () => new Response(JSON.stringify(body))) as typeof fetch;

test('reads the in-flight count of the target in its group', async () => {
  const report = { targetGroups: [{ name: 'app', targets: [{ id: '127.0.0.1:9001', inFlight: 5 }] }, { name: 'api', targets: [{ id: '127.0.0.1:9001', inFlight: 2 }] }] };
  expect(await proxyAdminInFlight('http://admin/', answer(report))(registration)).toBe(2);
  expect(await proxyAdminInFlight('http://admin', answer({ targetGroups: [] }))(registration)).toBeUndefined();
});

test('a target the report does not list is "cannot tell", never 0 in flight (fail safe)', async () => {
  const report = { targetGroups: [{ name: 'api', targets: [{ id: '127.0.0.1:9002', inFlight: 0 }] }] };
  expect(await proxyAdminInFlight('http://admin', answer(report))(registration)).toBeUndefined();
  expect(await proxyAdminInFlight('http://admin', answer({ targetGroups: [{ name: 'api', targets: [] }] }))(registration)).toBeUndefined();
});

test('IPv6 targets are looked up as the proxy names them, [v6]:port', async () => {
  const report = { targetGroups: [{ name: 'api', targets: [{ id: '[::1]:9001', inFlight: 3 }] }] };
  expect(await proxyAdminInFlight('http://admin', answer(report))({ ...registration, id: '::1' })).toBe(3);
});

test('a hung admin API gives up after about 1 s with "cannot tell" instead of stalling the poll', async () => {
  const hung = ((_url: string, init?: RequestInit) =>
    new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
  const started = Date.now();
  expect(await proxyAdminInFlight('http://admin', hung)(registration)).toBeUndefined();
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  expect(Date.now() - started).toBeLessThan(3000);
});
