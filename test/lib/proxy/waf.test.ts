/**
 * The web ACL reader, text transformations and the rate tracker, without sockets: the synthesized
 * stack's template, changed one rule at a time. Unsupported statements leave their rule out with a
 * reason naming it; malformed ones fail naming the resource and the rule.
 */
import { loadModelFromTemplate, TemplateError } from '../../../lib/proxy/template';
import { WafEngine, WafRequest } from '../../../lib/proxy/waf/engine';
import { RateTracker } from '../../../lib/proxy/waf/rate';
import { normalizePath, transform, urlDecode } from '../../../lib/proxy/waf/transform';
import { stackTemplate } from './support/proxy';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- template surgery

const TEMPLATE = stackTemplate();
const ACL_ID = Object.keys(TEMPLATE.Resources as Json).find((id) => (TEMPLATE.Resources as Json)[id].Type === 'AWS::WAFv2::WebACL')!;

/** The template with its web ACL's properties changed by `edit`. */
function withAcl(edit: (acl: Json) => void): Json {
  const copy = JSON.parse(JSON.stringify(TEMPLATE)) as Json;
  edit(copy.Resources[ACL_ID].Properties);
  return copy;
}

const load = (template: Json) => loadModelFromTemplate(template, { onWarning: () => undefined });
const rule = (name: string, priority: number, statement: Json, action: Json = { Block: {} }) => ({ Name: name, Priority: priority, Statement: statement, Action: action, VisibilityConfig: {} });
const request = (over: Partial<WafRequest> = {}): WafRequest => ({ method: 'GET', path: '/', query: '', headers: {}, sourceIp: '127.0.0.1', bodySize: 0, ...over });

describe('reading the web ACL', () => {
  test('the association to this load balancer selects the web ACL; without one there is none', () => {
    expect(load(TEMPLATE).webAcl?.logicalId).toBe(ACL_ID);
    const copy = JSON.parse(JSON.stringify(TEMPLATE)) as Json;
    for (const [id, r] of Object.entries(copy.Resources as Json)) if (r.Type === 'AWS::WAFv2::WebACLAssociation') delete copy.Resources[id];
    expect(load(copy).webAcl).toBeUndefined();
    expect(loadModelFromTemplate(TEMPLATE, { webAcl: false }).webAcl).toBeUndefined();
  });

  test('each unsupported statement, field, transformation or action leaves its rule out, named with the reason', () => {
    const model = load(
      withAcl((acl) => {
        acl.Rules.push(
          rule('Geo', 1, { GeoMatchStatement: { CountryCodes: ['FR'] } }),
          rule('AllHeaders', 2, { ByteMatchStatement: { FieldToMatch: { Headers: { MatchPattern: { All: {} }, MatchScope: 'ALL', OversizeHandling: 'CONTINUE' } }, PositionalConstraint: 'CONTAINS', SearchString: 'x', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }),
          rule('Sqli', 3, { SqliMatchStatement: { FieldToMatch: { Body: {} }, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }),
          rule('Html', 4, { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'CONTAINS', SearchString: 'x', TextTransformations: [{ Priority: 0, Type: 'HTML_ENTITY_DECODE' }] } }),
          rule('Puzzle', 6, { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'CONTAINS', SearchString: 'x', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }, { Captcha: {} }),
          rule('Custom', 7, { RateBasedStatement: { Limit: 10, AggregateKeyType: 'CUSTOM_KEYS', CustomKeys: [] } }),
        );
      }),
    ).webAcl!;
    const reasons = Object.fromEntries(model.notEnforced.map((n) => [n.rule, n.reason]));
    expect(reasons).toMatchObject({
      Geo: expect.stringMatching(/^GeoMatchStatement is not reproduced/),
      AllHeaders: expect.stringMatching(/^FieldToMatch Headers is not reproduced/),
      Sqli: expect.stringMatching(/^SqliMatchStatement on the Body is not reproduced/),
      Html: expect.stringMatching(/^text transformation HTML_ENTITY_DECODE is not reproduced/),
      Puzzle: expect.stringMatching(/^the Captcha action/),
      Custom: expect.stringMatching(/^AggregateKeyType CUSTOM_KEYS/),
      AWSManagedRulesKnownBadInputsRuleSet: expect.stringContaining('none is evaluated locally'),
      AWSManagedRulesCommonRuleSet: expect.stringContaining('not NoUserAgent_HEADER'),
    });
    // The rules it can evaluate are all still there, in priority order.
    expect(model.rules.map((r) => r.name)).toEqual(['DeclaredBodySizeLimit', 'AWSManagedRulesCommonRuleSet', 'RateLimit-api', 'RateLimit-auth', 'RateLimit-upload', 'GeneralRateLimit']);
  });

  test.each([
    ['a rule without a Name', (acl: Json) => delete acl.Rules[0].Name, /web ACL \w+ Rules\[0\]\.Name: must be a literal string/],
    ['two statements in one', (acl: Json) => (acl.Rules[0].Statement.ByteMatchStatement = {}), /web ACL \w+ rule DeclaredBodySizeLimit\.Statement: must have exactly one key \(got RegexMatchStatement, ByteMatchStatement\)/],
    ['a window WAF does not have', (acl: Json) => (acl.Rules[3].Statement.RateBasedStatement.EvaluationWindowSec = 30), /rule RateLimit-api\.Statement\.RateBasedStatement\.EvaluationWindowSec: must be one of 60, 120, 300, 600 \(got 30\)/],
    ['a limit under WAF\'s minimum of 10', (acl: Json) => (acl.Rules[3].Statement.RateBasedStatement.Limit = 9), /rule RateLimit-api\.Statement\.RateBasedStatement\.Limit: must be an integer from 10 to 2000000000 \(got 9\)/],
    ['a duplicate priority', (acl: Json) => (acl.Rules[1].Priority = acl.Rules[0].Priority), /rule AWSManagedRulesCommonRuleSet: has Priority 5, as rule DeclaredBodySizeLimit does/],
    ['a nested rate-based statement', (acl: Json) => (acl.Rules[3].Statement.RateBasedStatement.ScopeDownStatement = { RateBasedStatement: { Limit: 10 } }), /ScopeDownStatement\.RateBasedStatement: cannot be nested/],
    ['an unknown positional constraint', (acl: Json) => (acl.Rules[3].Statement.RateBasedStatement.ScopeDownStatement.ByteMatchStatement.PositionalConstraint = 'BEGINS'), /PositionalConstraint: must be one of EXACTLY, STARTS_WITH/],
    ['a custom response code out of range', (acl: Json) => (acl.Rules[0].Action.Block.CustomResponse.ResponseCode = 99), /Action\.Block\.CustomResponse\.ResponseCode: must be an HTTP status from 200 to 599 \(got 99\)/],
    ['a CLOUDFRONT scope', (acl: Json) => (acl.Scope = 'CLOUDFRONT'), /web ACL \w+ Scope: must be REGIONAL/],
  ])('malformed: %s fails naming the resource', (_, edit, message) => {
    expect(() => load(withAcl(edit))).toThrow(TemplateError);
    expect(() => load(withAcl(edit))).toThrow(message);
  });

  test('RuleActionOverrides: SizeRestrictions_BODY counts with the default config, blocks with an 8 KB limit', () => {
    const actions = (template: Json) => {
      const group = load(template).webAcl!.rules.find((r) => r.match.type === 'group')!;
      return group.match.type === 'group' ? Object.fromEntries(group.match.rules.map((r) => [r.name.split('/')[1], r.action.type])) : {};
    };
    expect(actions(TEMPLATE)).toEqual({ SizeRestrictions_QUERYSTRING: 'block', SizeRestrictions_Cookie_HEADER: 'block', SizeRestrictions_BODY: 'count', SizeRestrictions_URIPATH: 'block' });
    expect(actions(stackTemplate({ waf: { maxBodyBytes: 8192 } }))).toMatchObject({ SizeRestrictions_BODY: 'block' });
    // OverrideAction Count on the group: every rule of it only counts.
    expect(Object.values(actions(withAcl((acl) => (acl.Rules[1].OverrideAction = { Count: {} }))))).toEqual(['count', 'count', 'count', 'count']);
  });
});

describe('the engine', () => {
  test('first terminating match by priority; Count goes on and inserts its x-amzn-waf- headers; custom response bodies', () => {
    const model = load(
      withAcl((acl) => {
        acl.CustomResponseBodies = { denied: { ContentType: 'APPLICATION_JSON', Content: '{"denied":true}' } };
        acl.Rules.push(
          rule('Tag', 1, { ByteMatchStatement: { FieldToMatch: { SingleHeader: { Name: 'X-Tag' } }, PositionalConstraint: 'EXACTLY', SearchString: 'bad', TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }] } }, { Count: { CustomRequestHandling: { InsertHeaders: [{ Name: 'tagged', Value: 'yes' }] } } }),
          rule('Deny', 2, { AndStatement: { Statements: [{ ByteMatchStatement: { FieldToMatch: { Method: {} }, PositionalConstraint: 'EXACTLY', SearchString: 'DELETE', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }, { NotStatement: { Statement: { ByteMatchStatement: { FieldToMatch: { QueryString: {} }, PositionalConstraint: 'CONTAINS_WORD', SearchString: 'admin', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } } } }] } }, { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'denied', ResponseHeaders: [{ Name: 'Retry-After', Value: '60' }] } } }),
        );
      }),
    ).webAcl!;
    const engine = new WafEngine(model);
    const counted = engine.evaluate(request({ headers: { 'x-tag': 'BAD' } }), 0);
    expect(counted).toMatchObject({ rule: 'Default_Action', action: { type: 'allow' }, counted: ['Tag'], insertHeaders: [{ name: 'x-amzn-waf-tagged', value: 'yes' }] });
    const denied = engine.evaluate(request({ method: 'DELETE', query: 'as=admins' }), 0);
    expect(denied).toMatchObject({ rule: 'Deny', action: { type: 'block', response: { statusCode: 429, headers: [{ name: 'retry-after', value: '60' }], body: { contentType: 'application/json', content: '{"denied":true}' } } } });
    expect(engine.evaluate(request({ method: 'DELETE', query: 'as=admin&x' }), 0).rule).toBe('Default_Action');
    expect(engine.counts.get('Tag')?.get('count')).toBe(1);
    expect(engine.counts.get('Deny')?.get('block')).toBe(1);
  });

  test('body size: 8 KB inspected; OversizeHandling decides above it', () => {
    const sized = (oversize: string, op = 'GT', size = 100) =>
      new WafEngine(load(withAcl((acl) => (acl.Rules = [rule('Body', 1, { SizeConstraintStatement: { FieldToMatch: { Body: { OversizeHandling: oversize } }, ComparisonOperator: op, Size: size, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } })]))).webAcl!);
    expect(sized('CONTINUE').evaluate(request({ bodySize: 101 }), 0).rule).toBe('Body');
    expect(sized('CONTINUE').evaluate(request({ bodySize: 100 }), 0).rule).toBe('Default_Action');
    // CONTINUE measures the 8 KB it has: "over 8192" never matches, whatever the real size.
    expect(sized('CONTINUE', 'GT', 8192).evaluate(request({ bodySize: 1e6 }), 0).rule).toBe('Default_Action');
    expect(sized('MATCH', 'LT', 10).evaluate(request({ bodySize: 8193 }), 0).rule).toBe('Body');
    expect(sized('NO_MATCH').evaluate(request({ bodySize: 8193 }), 0).rule).toBe('Default_Action');
    expect(sized('NO_MATCH').evaluate(request({ bodySize: 8192 }), 0).rule).toBe('Body');
  });

  test('rate-based: scope-down after URL_DECODE and NORMALIZE_PATH; FORWARDED_IP with its fallback', () => {
    const engine = new WafEngine(
      load(
        withAcl((acl) => {
          acl.Rules[3].Statement.RateBasedStatement.Limit = 10;
          acl.Rules.push(rule('ByHeader', 300, { RateBasedStatement: { Limit: 10, EvaluationWindowSec: 60, AggregateKeyType: 'FORWARDED_IP', ForwardedIPConfig: { HeaderName: 'X-Client', FallbackBehavior: 'MATCH' } } }));
        }),
      ).webAcl!,
    );
    const api = Array.from({ length: 11 }, (_, i) => engine.evaluate(request({ path: ['/api/x', '/%61pi/x', '//api/./x', '/v/../api/x'][i % 4], headers: { 'x-client': `198.51.100.${i}` } }), 1000).rule);
    expect(api.slice(0, 10).every((r) => r === 'Default_Action')).toBe(true);
    expect(api[10]).toBe('RateLimit-api');
    expect(engine.evaluate(request({ path: '/apix' }), 1000).rule).toBe('ByHeader'); // no X-Client: fallback MATCH
    expect(engine.evaluate(request({ path: '/apix', headers: { 'x-client': '203.0.113.1, 10.0.0.1' } }), 1000).rule).toBe('Default_Action');
  });
});

describe('text transformations', () => {
  test.each([
    ['/a//b', '/a/b'],
    ['/a/./b/', '/a/b/'],
    ['/a/b/../c', '/a/c'],
    ['/../a', '/../a'],
    ['/a/..', '/'],
    ['/plain/path', '/plain/path'],
  ])('NORMALIZE_PATH %s → %s', (input, output) => expect(normalizePath(input)).toBe(output));

  test('URL_DECODE decodes %XX to its byte and keeps invalid escapes', () => {
    expect(urlDecode('/%61pi/%2e%2E/%zz%4')).toBe('/api/../%zz%4');
    expect(urlDecode('%C3%A9')).toBe('\u00c3\u00a9'); // two bytes, Latin-1: one character each
    expect(transform('//%61pi/./x', ['URL_DECODE', 'NORMALIZE_PATH'])).toBe('/api/x');
    expect(transform('A\t\t b', ['COMPRESS_WHITE_SPACE', 'LOWERCASE'])).toBe('a b');
  });

  test('LOWERCASE maps A-Z only, as WAF documents it', () => {
    expect(transform('AbC\u00c9\u00d6', ['LOWERCASE'])).toBe('abc\u00c9\u00d6');
  });
});

describe('rate tracker', () => {
  test('exact in the first window; the previous window weighs by its overlap; idle keys start over', () => {
    const t = new RateTracker(60);
    for (let i = 1; i <= 10; i++) expect(t.hit('a', i)).toBe(i);
    // 30 s into the next window, half of the previous one still counts.
    expect(t.hit('a', 90_000)).toBeCloseTo(1 + 10 * 0.5);
    expect(t.hit('a', 300_000)).toBe(1);
  });

  test('memory is bounded: at most maxKeys keys, stale ones evicted first', () => {
    const t = new RateTracker(60, 100);
    for (let i = 0; i < 1000; i++) t.hit(`k${i}`, i);
    expect(t.size).toBeLessThanOrEqual(100);
    t.hit('late', 10_000_000);
    expect(t.size).toBeLessThanOrEqual(100);
  });

  test('when full, the least recently seen keys go: a client that keeps sending keeps its count', () => {
    const t = new RateTracker(60, 100);
    t.hit('busy', 0);
    for (let i = 0; i < 1000; i++) {
      t.hit(`flood${i}`, i);
      t.hit('busy', i);
    }
    // 1001 requests from 'busy' in the first window: a fresh count would say 1.
    expect(t.hit('busy', 1000)).toBe(1002);
  });
});
