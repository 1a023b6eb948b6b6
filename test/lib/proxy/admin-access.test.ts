/**
 * The admin API against what a web page (CSRF, DNS rebinding) or a stranger could send, over real
 * sockets on loopback (issue 11, defect 5). The ELBv2 endpoint is driven with the real SDK.
 */
import { request as httpRequest } from 'node:http';
import { DeregisterTargetsCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { sendAdminToken } from '../../../lib/drain/admin-token';
import { assertAdminExposure, isLoopback } from '../../../lib/proxy/admin-access';
import { adminAuthorization } from '../../../lib/util/admin-token';
import { targetGroupArn } from '../../../lib/proxy/elbv2-api';
import { defaultGroup, echoBackend, EchoBackend, oneDefaultGroupModel, startTestProxy, TestProxy } from './support/proxy';

const model = oneDefaultGroupModel();
const APP = defaultGroup(model);
const appModel = Object.values(model.targetGroups).find((g) => g.name === APP)!;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so Host, Origin and Content-Type are exactly what a browser would send. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, setHost: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const elbv2 = (port: number) => new ElasticLoadBalancingV2Client({ endpoint: `http://127.0.0.1:${port}`, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

function registered(proxy: TestProxy, target: string): boolean {
  return proxy.runtime.targetGroup(APP)!.status().some((t) => t.id === target && t.state !== 'draining');
}

describe('admin API on loopback, no token', () => {
  let proxy: TestProxy;
  let app: EchoBackend;
  let port: number;
  let change: string;

  beforeAll(async () => {
    app = await echoBackend('app');
    proxy = await startTestProxy(model, { [APP]: [app.address] });
    port = proxy.adminPort!;
    change = JSON.stringify({ targetGroup: APP, target: app.id });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  test('a cross-site form POST (text/plain, foreign Origin) cannot deregister a target', async () => {
    const reply = await send(port, 'POST', '/targets/deregister', { host: `127.0.0.1:${port}`, origin: 'http://evil.example', 'content-type': 'text/plain' }, change);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'ForeignOrigin' });
    expect(registered(proxy, app.id)).toBe(true);
  });

  test('a text/plain POST without Origin (what an old browser form sends) is 415, and changes nothing', async () => {
    const reply = await send(port, 'POST', '/targets/deregister', { host: `127.0.0.1:${port}`, 'content-type': 'text/plain' }, change);
    expect(reply.status).toBe(415);
    expect(registered(proxy, app.id)).toBe(true);
  });

  test('Sec-Fetch-Site: cross-site is refused even with a JSON body', async () => {
    const reply = await send(port, 'POST', '/targets/deregister', { host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, change);
    expect(reply.status).toBe(403);
    expect(registered(proxy, app.id)).toBe(true);
  });

  test('DNS rebinding: a foreign Host is refused, for reads and for changes', async () => {
    expect((await send(port, 'GET', '/targets', { host: `evil.example:${port}` })).status).toBe(403);
    const reply = await send(port, 'POST', '/targets/deregister', { host: `evil.example:${port}`, 'content-type': 'application/json' }, change);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'ForeignHost' });
    expect(registered(proxy, app.id)).toBe(true);
    // Loopback names pass: localhost, 127.0.0.1, [::1].
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) expect((await send(port, 'GET', '/targets', { host })).status).toBe(200);
  });

  test('an HTML form POST of an ELBv2 DeregisterTargets (form-encoded, no Authorization) is refused with the ELBv2 error shape', async () => {
    const form = `Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(targetGroupArn(appModel))}&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port=${app.port}`;
    const reply = await send(port, 'POST', '/', { host: `127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' }, form);
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/<ErrorResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
    expect(registered(proxy, app.id)).toBe(true);
    // The SDK (SigV4-signed, as the drain CLI sends it) is served.
    const groups = await elbv2(port).send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.map((g) => g.TargetGroupName)).toContain(APP);
  });

  test('deregistering a target that is not registered is an error: 400 InvalidTarget on /targets, InvalidTargetException from the ELBv2 API', async () => {
    const reply = await send(port, 'POST', '/targets/deregister', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, JSON.stringify({ targetGroup: APP, target: '127.0.0.1:1' }));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'InvalidTarget', error: expect.stringContaining('127.0.0.1:1') });
    await expect(elbv2(port).send(new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn(appModel), Targets: [{ Id: '127.0.0.1', Port: 1 }] }))).rejects.toMatchObject({ name: 'InvalidTargetException' });
  });
});

describe('admin API with --admin-token', () => {
  const token = 'test-token-0123456789';
  let proxy: TestProxy;
  let app: EchoBackend;
  let port: number;

  beforeAll(async () => {
    app = await echoBackend('app');
    proxy = await startTestProxy(model, { [APP]: [app.address] }, { server: { adminToken: token } });
    port = proxy.adminPort!;
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  test('every call but /healthz needs Authorization: Bearer <token>; a token also admits non-loopback Host names', async () => {
    expect((await send(port, 'GET', '/healthz', { host: 'proxy:9901' })).status).toBe(200);
    const without = await send(port, 'GET', '/targets', { host: '127.0.0.1' });
    expect(without.status).toBe(401);
    expect((await send(port, 'GET', '/targets', { host: '127.0.0.1', authorization: adminAuthorization('wrong') })).status).toBe(401);
    expect((await send(port, 'GET', '/metrics', { host: 'proxy:9901', authorization: adminAuthorization(token) })).status).toBe(200);
    const change = JSON.stringify({ targetGroup: APP, target: '127.0.0.1:9' });
    expect((await send(port, 'POST', '/targets/register', { host: 'proxy:9901', 'content-type': 'application/json' }, change)).status).toBe(401);
    expect((await send(port, 'POST', '/targets/register', { host: 'proxy:9901', 'content-type': 'application/json', authorization: adminAuthorization(token) }, change)).status).toBe(200);
  });

  test('the ELBv2 API: an SDK client with sendAdminToken is served, one without gets InvalidClientTokenId', async () => {
    await expect(elbv2(port).send(new DescribeTargetGroupsCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 401 } });
    const groups = await sendAdminToken(elbv2(port), token).send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.map((g) => g.TargetGroupName)).toContain(APP);
  });
});

describe('admin exposure', () => {
  test('loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'proxy', '128.0.0.1']) expect(isLoopback(host)).toBe(false);
  });

  test('beyond loopback without a token, the proxy refuses to start, naming the option', async () => {
    expect(() => assertAdminExposure('0.0.0.0', undefined)).toThrow(/--admin-token .* is required when --admin-bind 0\.0\.0\.0 is not a loopback address/);
    expect(() => assertAdminExposure('0.0.0.0', 'x')).not.toThrow();
    await expect(startTestProxy(model, {}, { server: { adminBind: '0.0.0.0' } })).rejects.toThrow(/--admin-token/);
  });
});
