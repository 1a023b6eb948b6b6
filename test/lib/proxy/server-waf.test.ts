/**
 * The template's web ACL in front of the proxy, over real sockets on loopback: the web ACL is the
 * one the stack synthesizes for each config (no hand-written rules), so what is blocked here is
 * what the deployed web ACL would block. Sources: AWS WAF Developer Guide, "Baseline rule groups"
 * (the Core rule set's size restrictions), "Rate-based rule high-level settings", "Custom
 * responses for Block actions"; WAFV2 API Reference, `Body` (8 KB behind an ALB, OversizeHandling).
 */
import { connect as h2Connect } from 'node:http2';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { WAF_RULE_NAMES, CRS_BODY_SIZE_RULE, BODY_TOO_LARGE_STATUS } from '../../../constructs/rate-limited-web-acl';
import { LoadBalancerModel, TargetAddress } from '../../../lib/proxy/model';
import { echoBackend, EchoBackend, get, insecure, raw, stackModel, startTestProxy, statusLine, TestProxy } from './support/proxy';

const CRS_BODY = `${WAF_RULE_NAMES.commonRuleSet}/${CRS_BODY_SIZE_RULE}`;
/** Synthesized once per config: the default one, and one with an 8 KB body limit. */
const DEFAULT_MODEL = stackModel();
const TEN_KB = Buffer.alloc(10 * 1024, 'x');

/** Every target group of the model served by one echo backend that also counts the body bytes it got. */
function everyGroup(model: LoadBalancerModel, address: TargetAddress): Record<string, TargetAddress[]> {
  return Object.fromEntries(Object.values(model.targetGroups).map((g) => [g.name, [address]]));
}

async function startWafProxy(model: LoadBalancerModel, backend: EchoBackend): Promise<TestProxy> {
  if (!model.webAcl) throw new Error('the synthesized stack has no web ACL');
  return startTestProxy(model, everyGroup(model, backend.address), { server: { webAcl: model.webAcl, shutdownGraceMs: 100 } });
}

/** The backend answers with the number of body bytes it received. */
function countingBackend(backend: EchoBackend): void {
  backend.handler = (req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.end(JSON.stringify({ bytes, headers: req.headers })));
  };
}

interface Post {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A POST with a Content-Length (Buffer) or chunked (a stream of chunks), optionally from another loopback address. */
async function post(url: string, body: Buffer | Buffer[], options: { expectContinue?: boolean } = {}): Promise<Post> {
  const response = await request(url, {
    method: 'POST',
    body: Array.isArray(body) ? Readable.from(body) : body,
    headers: { 'content-type': 'application/octet-stream' },
    dispatcher: insecure,
    expectContinue: options.expectContinue,
  });
  return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
}

function chunks(total: number, size: number): Buffer[] {
  return Array.from({ length: Math.ceil(total / size) }, (_, i) => Buffer.alloc(Math.min(size, total - i * size), 'y'));
}

/** The status line of a GET over plain HTTP from a given loopback address (the HTTP listener: WAF guards it too). */
function statusFrom(port: number, path: string, localAddress: string): Promise<string> {
  return statusLine(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, localAddress);
}

/** An HTTP/2 POST whose body goes in DATA frames without Content-Length; status and answer. */
function h2Post(url: string, body: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(url, { rejectUnauthorized: false });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/' });
    let status = 0;
    let answer = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (d: Buffer) => (answer += d.toString()));
    stream.on('end', () => {
      session.close();
      resolve({ status, body: answer });
    });
    stream.on('error', reject);
    for (const chunk of body) stream.write(chunk);
    stream.end();
  });
}

/** A sample's value in the Prometheus text, or undefined. */
async function wafMetric(proxy: TestProxy, rule: string, action: string): Promise<number | undefined> {
  const text = (await get(`${proxy.admin}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`albatross_waf_requests_total{rule="${rule}",action="${action}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** One backend and a proxy enforcing `model`'s web ACL, started once for the tests of a describe block. */
function wafProxyPerSuite(model: LoadBalancerModel, options: { countBytes: boolean }): { readonly backend: EchoBackend; readonly proxy: TestProxy } {
  const suite = {} as { backend: EchoBackend; proxy: TestProxy };
  beforeAll(async () => {
    suite.backend = await echoBackend('app');
    if (options.countBytes) countingBackend(suite.backend);
    suite.proxy = await startWafProxy(model, suite.backend);
  });
  afterAll(async () => {
    await suite.proxy.close();
    await suite.backend.close();
  });
  return suite;
}

describe('default config (waf.maxBodyBytes 5 MiB): the Common Rule Set body rule only counts', () => {
  const model = DEFAULT_MODEL;
  const suite = wafProxyPerSuite(model, { countBytes: true });

  test('the synthesized web ACL overrides SizeRestrictions_BODY to count', () => {
    const group = model.webAcl?.rules.find((r) => r.name === WAF_RULE_NAMES.commonRuleSet);
    expect(group?.match.type === 'group' && group.match.rules.find((r) => r.name === CRS_BODY)?.action.type).toBe('count');
  });

  test('a 10 KB POST passes whole, and is counted under the body rule in /metrics', async () => {
    const before = (await wafMetric(suite.proxy, CRS_BODY, 'count')) ?? 0;
    const answer = await post(`${suite.proxy.https}/`, TEN_KB);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).bytes).toBe(TEN_KB.length);
    expect(await wafMetric(suite.proxy, CRS_BODY, 'count')).toBe(before + 1);
  });

  test('a 1 MiB chunked upload streams through whole: the peek at its first 8 KB holds nothing back', async () => {
    const before = (await wafMetric(suite.proxy, CRS_BODY, 'count')) ?? 0;
    const answer = await post(`${suite.proxy.https}/`, chunks(1024 * 1024, 4096));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ bytes: 1024 * 1024, headers: { 'transfer-encoding': 'chunked' } });
    // No Content-Length: the body's size was known only by reading its start, and it was counted.
    expect(await wafMetric(suite.proxy, CRS_BODY, 'count')).toBe(before + 1);
  });

  test('a small chunked body reaches the target intact after the peek', async () => {
    const answer = await post(`${suite.proxy.https}/`, [Buffer.from('ab'), Buffer.from('cd')]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).bytes).toBe(4);
  });

  test('Expect: 100-continue with a 10 KB body: continued, forwarded whole', async () => {
    const answer = await post(`${suite.proxy.https}/`, TEN_KB, { expectContinue: true });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).bytes).toBe(TEN_KB.length);
  });

  test(`a declared Content-Length over waf.maxBodyBytes: ${BODY_TOO_LARGE_STATUS} from ${WAF_RULE_NAMES.bodySize}, before any body byte, connection closed`, async () => {
    const before = (await wafMetric(suite.proxy, WAF_RULE_NAMES.bodySize, 'block')) ?? 0;
    const text = await raw(suite.proxy.ports[80], `POST /upload/x HTTP/1.1\r\nHost: a\r\nContent-Length: ${5 * 1024 * 1024 + 1}\r\n\r\n`);
    expect(text).toMatch(new RegExp(`^HTTP/1.1 ${BODY_TOO_LARGE_STATUS} `));
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(await wafMetric(suite.proxy, WAF_RULE_NAMES.bodySize, 'block')).toBe(before + 1);
    // Exactly at the limit passes the web ACL (the HTTP listener then redirects).
    expect(await raw(suite.proxy.ports[80], `POST /upload/x HTTP/1.1\r\nHost: a\r\nContent-Length: ${5 * 1024 * 1024}\r\n\r\n`, 500)).toMatch(/^HTTP\/1.1 301 /);
  });

  test('Expect: 100-continue with a declared body over the limit: 413 at once, no 100 Continue (the body is never invited)', async () => {
    const text = await raw(suite.proxy.ports[80], `POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${6 * 1024 * 1024}\r\n\r\n`);
    expect(text).toMatch(new RegExp(`^HTTP/1.1 ${BODY_TOO_LARGE_STATUS} `));
    expect(text).not.toContain('100 Continue');
  });

  test('the CRS size restrictions on the URI path (1,024 B), query string (2,048 B) and Cookie header (10,240 B) block with 403', async () => {
    expect((await get(`${suite.proxy.https}/${'p'.repeat(1023)}`)).status).toBe(200);
    expect((await get(`${suite.proxy.https}/${'p'.repeat(1024)}`)).status).toBe(403);
    expect((await get(`${suite.proxy.https}/?${'q'.repeat(2048)}`)).status).toBe(200);
    const blocked = await get(`${suite.proxy.https}/?${'q'.repeat(2049)}`);
    expect(blocked.status).toBe(403);
    expect(blocked.body).toContain('403 Forbidden');
    expect((await get(`${suite.proxy.https}/`, { cookie: `a=${'c'.repeat(10_238)}` })).status).toBe(200);
    expect((await get(`${suite.proxy.https}/`, { cookie: `a=${'c'.repeat(10_239)}` })).status).toBe(403);
    expect(await wafMetric(suite.proxy, `${WAF_RULE_NAMES.commonRuleSet}/SizeRestrictions_QUERYSTRING`, 'block')).toBe(1);
    expect(await wafMetric(suite.proxy, `${WAF_RULE_NAMES.commonRuleSet}/SizeRestrictions_Cookie_HEADER`, 'block')).toBe(1);
    expect(await wafMetric(suite.proxy, `${WAF_RULE_NAMES.commonRuleSet}/SizeRestrictions_URIPATH`, 'block')).toBe(1);
  });

  test('a blocked request does not reach the target, and the proxy keeps serving on a new connection', async () => {
    const seen = suite.backend.seen.length;
    expect((await get(`${suite.proxy.https}/?${'q'.repeat(3000)}`)).status).toBe(403);
    expect(suite.backend.seen.length).toBe(seen);
    expect((await get(`${suite.proxy.https}/`)).status).toBe(200);
  });
});

describe('waf.maxBodyBytes 8 KB: the Common Rule Set body rule stays at block', () => {
  const model = stackModel({ waf: { maxBodyBytes: 8192 } });
  const suite = wafProxyPerSuite(model, { countBytes: true });

  test('a 10 KB chunked POST (no Content-Length for the declared-size rule to see) is blocked 403 by SizeRestrictions_BODY', async () => {
    const seen = suite.backend.seen.length;
    const answer = await post(`${suite.proxy.https}/`, chunks(10 * 1024, 1024));
    expect(answer.status).toBe(403);
    expect(suite.backend.seen.length).toBe(seen);
    expect(await wafMetric(suite.proxy, CRS_BODY, 'block')).toBeGreaterThanOrEqual(1);
  });

  test(`a 10 KB POST with its Content-Length: ${WAF_RULE_NAMES.bodySize} (priority 5) decides first, ${BODY_TOO_LARGE_STATUS}`, async () => {
    const answer = await post(`${suite.proxy.https}/`, TEN_KB);
    expect(answer.status).toBe(BODY_TOO_LARGE_STATUS);
    expect(await wafMetric(suite.proxy, WAF_RULE_NAMES.bodySize, 'block')).toBe(1);
  });

  test('HTTP/2 bodies without Content-Length are peeked too: 10 KB blocked, 1 KB reaches the target whole', async () => {
    expect((await h2Post(suite.proxy.https, chunks(10 * 1024, 1024))).status).toBe(403);
    const small = await h2Post(suite.proxy.https, chunks(1024, 100));
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body).bytes).toBe(1024);
  });

  test('8 KB exactly, chunked or declared, passes', async () => {
    expect((await post(`${suite.proxy.https}/`, chunks(8192, 1000))).status).toBe(200);
    expect((await post(`${suite.proxy.https}/`, Buffer.alloc(8192))).status).toBe(200);
  });

  test('a chunked body that stops before 8 KB for the idle timeout gets 408', async () => {
    const stalling = await startWafProxy({ ...model, idleTimeoutSeconds: 1 }, suite.backend);
    try {
      const text = await raw(stalling.ports[80], 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n', 3000);
      expect(text).toMatch(/^HTTP\/1.1 408 /);
    } finally {
      await stalling.close();
    }
  });
});

describe('rate-based rules: per client IP, scoped by path prefix', () => {
  const model = DEFAULT_MODEL;
  const upload = model.webAcl?.rules.find((r) => r.name === WAF_RULE_NAMES.path('upload'));
  const limit = upload?.match.type === 'rate' ? upload.match.limit : NaN;
  const suite = wafProxyPerSuite(model, { countBytes: false });

  test('limit + 1 requests to /upload/ in the window: the last is 403; other paths and another client IP pass', async () => {
    expect(limit).toBe(20);
    const statuses: number[] = [];
    // URL-encoded and unnormalized paths count too: the scope-down decodes and normalizes.
    for (let i = 0; i < limit; i++) statuses.push((await get(`${suite.proxy.https}/${i % 2 ? '%75pload' : '/upload/.'}/f${i}`)).status);
    expect(statuses.every((s) => s !== 403)).toBe(true);
    const blocked = await get(`${suite.proxy.https}/upload/one-more`);
    expect(blocked.status).toBe(403);
    expect((await get(`${suite.proxy.https}/upload/again`)).status).toBe(403);
    expect((await get(`${suite.proxy.https}/elsewhere`)).status).toBe(200);
    // Another client: its own count (the HTTP listener redirects what the web ACL lets through).
    expect(await statusFrom(suite.proxy.ports[80], '/upload/x', '127.0.0.2')).toBe('HTTP/1.1 301 Moved Permanently');
    expect(await statusFrom(suite.proxy.ports[80], '/upload/x', '127.0.0.1')).toBe('HTTP/1.1 403 Forbidden');
    expect(await wafMetric(suite.proxy, WAF_RULE_NAMES.path('upload'), 'block')).toBe(3);
  });

  test('X-Forwarded-For does not change the client the rule counts (AggregateKeyType IP: the socket peer)', async () => {
    expect((await get(`${suite.proxy.https}/upload/y`, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
  });
});
