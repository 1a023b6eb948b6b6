import { RequestFacts } from '../../../lib/proxy/contracts';
import { ActionModel, ConditionModel, ListenerModel } from '../../../lib/proxy/model';
import { evaluateListener, renderRedirect } from '../../../lib/proxy/rules';
import { parseAddress, parseCidr, inAnyCidr } from '../../../lib/proxy/cidr';

const fixed = (statusCode: number): ActionModel => ({ type: 'fixed-response', statusCode });
const DEFAULT = fixed(200);

function listener(rules: { priority: number; conditions: ConditionModel[]; status: number }[]): ListenerModel {
  return {
    logicalId: 'L',
    port: 443,
    protocol: 'HTTPS',
    defaultAction: DEFAULT,
    rules: rules.map((r) => ({ logicalId: `R${r.priority}`, priority: r.priority, conditions: r.conditions, action: fixed(r.status) })),
    responseHeaders: {},
    removeServerHeader: false,
  };
}

function req(over: Partial<RequestFacts> = {}): RequestFacts {
  return { method: 'GET', path: '/', query: '', headers: { host: 'example.com' }, sourceIp: '127.0.0.1', ...over };
}

function statusOf(l: ListenerModel, r: RequestFacts): number {
  const action = evaluateListener(l, r);
  return action.type === 'fixed-response' ? action.statusCode : -1;
}

const path = (...values: string[]): ConditionModel => ({ field: 'path-pattern', values });

describe('evaluateListener (docs/alb-behaviour.md §1–3)', () => {
  it('evaluates rules by ascending priority regardless of their order in the model, first match wins', () => {
    const l = listener([
      { priority: 20, conditions: [path('/api/*')], status: 420 },
      { priority: 5, conditions: [path('/api/v1/*')], status: 405 },
    ]);
    expect(statusOf(l, req({ path: '/api/v1/x' }))).toBe(405);
    expect(statusOf(l, req({ path: '/api/v2/x' }))).toBe(420);
  });

  it('falls back to the default action when no rule matches', () => {
    const l = listener([{ priority: 1, conditions: [path('/api/*')], status: 401 }]);
    expect(evaluateListener(l, req({ path: '/other' }))).toBe(DEFAULT);
  });

  it('ANDs conditions across fields and ORs values within one', () => {
    const l = listener([
      { priority: 1, conditions: [path('/a', '/b'), { field: 'http-request-method', values: ['POST', 'PUT'] }], status: 401 },
    ]);
    expect(statusOf(l, req({ path: '/b', method: 'PUT' }))).toBe(401);
    expect(statusOf(l, req({ path: '/a', method: 'POST' }))).toBe(401);
    expect(statusOf(l, req({ path: '/a', method: 'GET' }))).toBe(200);
    expect(statusOf(l, req({ path: '/c', method: 'POST' }))).toBe(200);
  });

  describe('path-pattern', () => {
    const l = listener([
      { priority: 1, conditions: [path('/api/*')], status: 401 },
      { priority: 2, conditions: [path('/img/?.png')], status: 402 },
      { priority: 3, conditions: [path('/a.b+c(d)')], status: 403 },
      { priority: 4, conditions: [path('*.css')], status: 404 },
    ]);
    it('matches * across slashes and including nothing', () => {
      expect(statusOf(l, req({ path: '/api/' }))).toBe(401);
      expect(statusOf(l, req({ path: '/api/v1/users/7' }))).toBe(401);
      expect(statusOf(l, req({ path: '/api' }))).toBe(200);
      expect(statusOf(l, req({ path: '/static/x/y.css' }))).toBe(404);
    });
    it('matches ? exactly one character', () => {
      expect(statusOf(l, req({ path: '/img/a.png' }))).toBe(402);
      expect(statusOf(l, req({ path: '/img/ab.png' }))).toBe(200);
      expect(statusOf(l, req({ path: '/img/.png' }))).toBe(200);
    });
    it('is case-sensitive and treats regex characters literally', () => {
      expect(statusOf(l, req({ path: '/API/x' }))).toBe(200);
      expect(statusOf(l, req({ path: '/a.b+c(d)' }))).toBe(403);
      expect(statusOf(l, req({ path: '/aXb+c(d)' }))).toBe(200);
    });
    it('looks at the path only, never the query string', () => {
      const q = listener([{ priority: 1, conditions: [path('/x*y')], status: 401 }]);
      expect(statusOf(q, req({ path: '/x', query: 'y' }))).toBe(200);
    });
  });

  it('host-header is case-insensitive, supports wildcards and ignores the port', () => {
    const l = listener([{ priority: 1, conditions: [{ field: 'host-header', values: ['*.Example.com'] }], status: 401 }]);
    expect(statusOf(l, req({ headers: { host: 'API.example.COM:8443' } }))).toBe(401);
    expect(statusOf(l, req({ headers: { host: 'example.com' } }))).toBe(200);
    expect(statusOf(l, req({ headers: { ':authority': 'a.example.com' } }))).toBe(401);
  });

  it('http-header matches the named header, value wildcards case-insensitive', () => {
    const l = listener([{ priority: 1, conditions: [{ field: 'http-header', headerName: 'User-Agent', values: ['*mobile*'] }], status: 401 }]);
    expect(statusOf(l, req({ headers: { 'user-agent': 'Foo Mobile Safari' } }))).toBe(401);
    expect(statusOf(l, req({ headers: { 'user-agent': 'Desktop' } }))).toBe(200);
    expect(statusOf(l, req({ headers: {} }))).toBe(200);
  });

  it('http-request-method matches exactly', () => {
    const l = listener([{ priority: 1, conditions: [{ field: 'http-request-method', values: ['DELETE'] }], status: 401 }]);
    expect(statusOf(l, req({ method: 'DELETE' }))).toBe(401);
    expect(statusOf(l, req({ method: 'GET' }))).toBe(200);
  });

  it('query-string matches key/value pairs with wildcards, key optional', () => {
    const l = listener([
      { priority: 1, conditions: [{ field: 'query-string', values: [{ key: 'version', value: 'v2*' }] }], status: 401 },
      { priority: 2, conditions: [{ field: 'query-string', values: [{ value: 'debug' }] }], status: 402 },
    ]);
    expect(statusOf(l, req({ query: 'a=1&version=V2.1' }))).toBe(401);
    expect(statusOf(l, req({ query: 'version=v1' }))).toBe(200);
    expect(statusOf(l, req({ query: 'mode=debug' }))).toBe(402);
    expect(statusOf(l, req({ query: '' }))).toBe(200);
  });

  it('source-ip matches IPv4 and IPv6 CIDRs, IPv4-mapped IPv6 as IPv4', () => {
    const l = listener([
      { priority: 1, conditions: [{ field: 'source-ip', values: ['10.0.0.0/8', '127.0.0.1/32'] }], status: 401 },
      { priority: 2, conditions: [{ field: 'source-ip', values: ['2001:db8::/32'] }], status: 402 },
    ]);
    expect(statusOf(l, req({ sourceIp: '10.20.30.40' }))).toBe(401);
    expect(statusOf(l, req({ sourceIp: '::ffff:127.0.0.1' }))).toBe(401);
    expect(statusOf(l, req({ sourceIp: '127.0.0.2' }))).toBe(200);
    expect(statusOf(l, req({ sourceIp: '2001:db8:1::5' }))).toBe(402);
    expect(statusOf(l, req({ sourceIp: '2001:db9::5' }))).toBe(200);
    expect(statusOf(l, req({ sourceIp: '::1' }))).toBe(200);
  });
});

describe('cidr', () => {
  it('parses compressed, full and embedded-IPv4 IPv6 forms', () => {
    expect(parseAddress('::1')).toEqual({ family: 6, value: 1n });
    expect(parseAddress('0:0:0:0:0:0:0:1')).toEqual({ family: 6, value: 1n });
    expect(parseAddress('::ffff:10.0.0.1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseAddress('::ffff:a00:1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseAddress('fe80::1%eth0')?.family).toBe(6);
    expect(parseAddress('1.2.3.256')).toBeUndefined();
    expect(parseAddress('1::2::3')).toBeUndefined();
    expect(parseAddress('nonsense')).toBeUndefined();
  });
  it('rejects bad blocks with a clear error', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow('invalid CIDR block "10.0.0.0/33"');
    expect(() => parseCidr('banana/8')).toThrow('invalid CIDR block');
  });
  it('matches a /0 and host blocks', () => {
    expect(inAnyCidr('8.8.8.8', [parseCidr('0.0.0.0/0')])).toBe(true);
    expect(inAnyCidr('::1', [parseCidr('0.0.0.0/0')])).toBe(false);
    expect(inAnyCidr('::1', [parseCidr('::/0')])).toBe(true);
  });
});

describe('renderRedirect (docs/alb-behaviour.md §4)', () => {
  const httpsRedirect = {
    type: 'redirect' as const,
    protocol: 'HTTPS',
    host: '#{host}',
    port: '443',
    path: '/#{path}',
    query: '#{query}',
    statusCode: 301 as const,
  };
  it('keeps host, path and query and writes the port explicitly, like the ALB', () => {
    const location = renderRedirect(httpsRedirect, { path: '/a/b', query: 'x=1&y=2', headers: { host: 'Example.com:80' } }, 80, 'HTTP');
    expect(location).toBe('https://Example.com:443/a/b?x=1&y=2');
  });
  it('leaves out "?" when the query is empty and keeps the root path', () => {
    expect(renderRedirect(httpsRedirect, { path: '/', query: '', headers: { host: 'example.com' } }, 80, 'HTTP')).toBe('https://example.com:443/');
  });
  it('maps template ports to local ports', () => {
    const location = renderRedirect(httpsRedirect, { path: '/p', query: '', headers: { host: 'localhost:8080' } }, 80, 'HTTP', { 443: 8443, 80: 8080 });
    expect(location).toBe('https://localhost:8443/p');
  });
  it('expands every placeholder, #{path} without its leading slash', () => {
    const action = { ...httpsRedirect, protocol: '#{protocol}', host: 'new.#{host}', port: '#{port}', path: '/v2/#{path}', query: '#{query}&from=#{port}' };
    const location = renderRedirect(action, { path: '/x', query: 'q=1', headers: { host: 'old.test' } }, 8080, 'HTTP');
    expect(location).toBe('http://new.old.test:8080/v2/x?q=1&from=8080');
  });
});
