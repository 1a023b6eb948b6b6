import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFromTemplate, readTemplateFile, TemplateError } from '../../../lib/proxy/template';

const LB = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';
const RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';
const TG = 'AWS::ElasticLoadBalancingV2::TargetGroup';

/** A small template in the shape CloudFormation uses. */
function template(extra: Record<string, unknown> = {}): { Resources: Record<string, unknown> } {
  return {
    Resources: {
      Lb: {
        Type: LB,
        Properties: {
          Type: 'application',
          LoadBalancerAttributes: [
            { Key: 'idle_timeout.timeout_seconds', Value: '120' },
            { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
            { Key: 'routing.http.desync_mitigation_mode', Value: 'strictest' },
            { Key: 'routing.http2.enabled', Value: 'false' },
            { Key: 'access_logs.s3.bucket', Value: { Ref: 'Bucket' } },
          ],
        },
      },
      Https: {
        Type: LISTENER,
        Properties: {
          LoadBalancerArn: { Ref: 'Lb' },
          Port: 443,
          Protocol: 'HTTPS',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'TgApp' } }],
          ListenerAttributes: [
            { Key: 'routing.http.response.strict_transport_security.header_value', Value: 'max-age=31536000' },
            { Key: 'routing.http.response.x_frame_options.header_value', Value: 'DENY' },
            { Key: 'routing.http.response.access_control_allow_origin.header_value', Value: 'https://a.test' },
            { Key: 'routing.http.response.server.enabled', Value: 'false' },
          ],
        },
      },
      Http: {
        Type: LISTENER,
        Properties: {
          LoadBalancerArn: { Ref: 'Lb' },
          Port: 80,
          Protocol: 'HTTP',
          DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
        },
      },
      RuleB: {
        Type: RULE,
        Properties: {
          ListenerArn: { Ref: 'Https' },
          Priority: 20,
          Conditions: [
            { Field: 'host-header', HostHeaderConfig: { Values: ['*.example.com'] } },
            { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Env', Values: ['blue'] } },
            { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }, { Value: 'x' }] } },
            { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } },
            { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET'] } },
          ],
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: { Ref: 'TgApp' }, Weight: 80 },
                  { TargetGroupArn: { Ref: 'TgApi' }, Weight: 20 },
                ],
                TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 },
              },
            },
          ],
        },
      },
      RuleA: {
        Type: RULE,
        Properties: {
          ListenerArn: { Ref: 'Https' },
          Priority: 10,
          Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
          Actions: [{ Type: 'forward', TargetGroupArn: { Ref: 'TgApi' } }],
        },
      },
      RuleC: {
        Type: RULE,
        Properties: {
          ListenerArn: { Ref: 'Https' },
          Priority: 30,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/down'] } }],
          Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain', MessageBody: 'down' } }],
        },
      },
      TgApp: {
        Type: TG,
        Properties: {
          Port: 8080,
          Protocol: 'HTTP',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 10,
          HealthCheckTimeoutSeconds: 3,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 3,
          Matcher: { HttpCode: '200-299' },
          Tags: [{ Key: 'albatross:target-group', Value: 'app' }],
          TargetGroupAttributes: [
            { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
            { Key: 'slow_start.duration_seconds', Value: '60' },
            { Key: 'stickiness.enabled', Value: 'true' },
            { Key: 'stickiness.type', Value: 'lb_cookie' },
            { Key: 'stickiness.lb_cookie.duration_seconds', Value: '3600' },
          ],
        },
      },
      TgApi: {
        Type: TG,
        Properties: {
          Port: 8080,
          Protocol: 'HTTP',
          TargetGroupAttributes: [
            { Key: 'load_balancing.algorithm.type', Value: 'weighted_random' },
            { Key: 'load_balancing.algorithm.anomaly_mitigation', Value: 'on' },
          ],
        },
      },
      Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
      ...extra,
    },
  };
}

describe('loadModelFromTemplate', () => {
  const model = loadModelFromTemplate(template(), { onWarning: () => undefined });

  it('reads the load balancer attributes', () => {
    expect(model).toMatchObject({ logicalId: 'Lb', idleTimeoutSeconds: 120, dropInvalidHeaderFields: true, desyncMitigationMode: 'strictest', http2Enabled: false });
  });

  it('resolves rules to their listener, sorted by priority, with every condition type', () => {
    const https = model.listeners.find((l) => l.logicalId === 'Https')!;
    expect(https.rules.map((r) => r.logicalId)).toEqual(['RuleA', 'RuleB', 'RuleC']);
    expect(https.rules[0].conditions).toEqual([{ field: 'path-pattern', values: ['/api/*'] }]);
    expect(https.rules[1].conditions).toEqual([
      { field: 'host-header', values: ['*.example.com'] },
      { field: 'http-header', headerName: 'X-Env', values: ['blue'] },
      { field: 'query-string', values: [{ key: 'v', value: '2' }, { value: 'x' }] },
      { field: 'source-ip', values: ['10.0.0.0/8'] },
      { field: 'http-request-method', values: ['GET'] },
    ]);
    expect(https.defaultAction).toEqual({ type: 'forward', targetGroups: [{ targetGroup: 'TgApp', weight: 1 }] });
  });

  it('reads weighted forwards with group stickiness, fixed responses and redirects with defaults', () => {
    const https = model.listeners.find((l) => l.logicalId === 'Https')!;
    expect(https.rules[1].action).toEqual({
      type: 'forward',
      targetGroups: [{ targetGroup: 'TgApp', weight: 80 }, { targetGroup: 'TgApi', weight: 20 }],
      groupStickinessSeconds: 600,
    });
    expect(https.rules[2].action).toEqual({ type: 'fixed-response', statusCode: 503, contentType: 'text/plain', body: 'down' });
    const http = model.listeners.find((l) => l.logicalId === 'Http')!;
    expect(http).toMatchObject({ port: 80, protocol: 'HTTP', rules: [], removeServerHeader: false, responseHeaders: {} });
    expect(http.defaultAction).toEqual({ type: 'redirect', protocol: 'HTTPS', host: '#{host}', port: '443', path: '/#{path}', query: '#{query}', statusCode: 301 });
  });

  it('turns listener attributes into response headers and the Server switch', () => {
    const https = model.listeners.find((l) => l.logicalId === 'Https')!;
    expect(https.responseHeaders).toEqual({
      'Strict-Transport-Security': 'max-age=31536000',
      'X-Frame-Options': 'DENY',
      'Access-Control-Allow-Origin': 'https://a.test',
    });
    expect(https.removeServerHeader).toBe(true);
  });

  it('reads target group settings and names from the albatross:target-group tag', () => {
    expect(model.targetGroups.TgApp).toEqual({
      logicalId: 'TgApp',
      name: 'app',
      protocol: 'HTTP',
      port: 8080,
      healthCheck: { enabled: true, path: '/health', intervalSeconds: 10, timeoutSeconds: 3, healthyThreshold: 2, unhealthyThreshold: 3, matcher: '200-299' },
      deregistrationDelaySeconds: 30,
      slowStartSeconds: 60,
      algorithm: 'round_robin',
      anomalyMitigation: false,
      stickiness: { enabled: true, type: 'lb_cookie', durationSeconds: 3600 },
    });
  });

  it('uses the ALB defaults when settings are absent (docs/alb-behaviour.md §6, §13, §14) and the logical id as name', () => {
    expect(model.targetGroups.TgApi).toEqual({
      logicalId: 'TgApi',
      name: 'TgApi',
      protocol: 'HTTP',
      port: 8080,
      healthCheck: { enabled: true, path: '/', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' },
      deregistrationDelaySeconds: 300,
      slowStartSeconds: 0,
      algorithm: 'weighted_random',
      anomalyMitigation: true,
      stickiness: { enabled: false, type: 'lb_cookie', durationSeconds: 86400 },
    });
    const bare = loadModelFromTemplate({ Resources: { L: { Type: LB }, H: { Type: LISTENER, Properties: { LoadBalancerArn: { Ref: 'L' }, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }] } } } });
    expect(bare).toMatchObject({ idleTimeoutSeconds: 60, dropInvalidHeaderFields: false, desyncMitigationMode: 'defensive', http2Enabled: true });
  });

  it('warns about authenticate actions and keeps the terminal action', () => {
    const warnings: string[] = [];
    const t = template({
      Auth: {
        Type: RULE,
        Properties: {
          ListenerArn: { Ref: 'Https' },
          Priority: 5,
          Conditions: [{ Field: 'path-pattern', Values: ['/admin/*'] }],
          Actions: [
            { Type: 'forward', Order: 2, TargetGroupArn: { Ref: 'TgApp' } },
            { Type: 'authenticate-oidc', Order: 1, AuthenticateOidcConfig: {} },
          ],
        },
      },
    });
    const m = loadModelFromTemplate(t, { onWarning: (w) => warnings.push(w) });
    expect(m.listeners[0].rules[0].action).toEqual({ type: 'forward', targetGroups: [{ targetGroup: 'TgApp', weight: 1 }] });
    expect(warnings).toEqual(['listener rule Auth: authenticate-oidc is not supported by the local proxy; requests pass without authentication']);
  });

  it('warns that slow start is ignored with an algorithm other than round_robin', () => {
    const warnings: string[] = [];
    const t = template({
      TgLor: { Type: TG, Properties: { TargetGroupAttributes: [{ Key: 'slow_start.duration_seconds', Value: '60' }, { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' }] } },
    });
    loadModelFromTemplate(t, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual(['target group TgLor: slow start works with round_robin only (the ELB guide); it is ignored with least_outstanding_requests']);
  });

  it('reads HealthCheckProtocol and a numeric HealthCheckPort; traffic-port means the target port', () => {
    const t = template({
      TgHc: { Type: TG, Properties: { Protocol: 'HTTPS', Port: 443, HealthCheckProtocol: 'HTTP', HealthCheckPort: '8081' } },
      TgTraffic: { Type: TG, Properties: { HealthCheckPort: 'traffic-port' } },
    });
    const m = loadModelFromTemplate(t, { onWarning: () => undefined });
    expect(m.targetGroups.TgHc.healthCheck).toMatchObject({ protocol: 'HTTP', port: 8081 });
    expect(m.targetGroups.TgTraffic.healthCheck.port).toBeUndefined();
    expect(m.targetGroups.TgTraffic.healthCheck.protocol).toBeUndefined();
    expect(() => loadModelFromTemplate(template({ TgBad: { Type: TG, Properties: { HealthCheckPort: 'nope' } } }))).toThrow(
      'template: target group TgBad.HealthCheckPort must be traffic-port or a port from 1 to 65535 (got "nope")',
    );
  });

  it('rejects a health check timeout that is not shorter than the interval', () => {
    const t = template({ TgSlow: { Type: TG, Properties: { HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 5 } } });
    expect(() => loadModelFromTemplate(t)).toThrow('template: target group TgSlow.HealthCheckTimeoutSeconds (5) must be smaller than HealthCheckIntervalSeconds (5)');
  });

  it('fails with one line naming the source and what is missing', () => {
    expect(() => loadModelFromTemplate({ Resources: { B: { Type: 'AWS::S3::Bucket' } } }, { source: 'x.json' })).toThrow(
      new TemplateError('x.json: has no Application Load Balancer (no resource of type AWS::ElasticLoadBalancingV2::LoadBalancer); is this the synthesized stack template?'),
    );
    expect(() => loadModelFromTemplate('nope')).toThrow('template: has no Resources section');
    const imported = template();
    (imported.Resources.RuleA as { Properties: { Actions: unknown[] } }).Properties.Actions = [{ Type: 'forward', TargetGroupArn: 'arn:aws:elasticloadbalancing:x' }];
    expect(() => loadModelFromTemplate(imported)).toThrow(/listener rule RuleA.TargetGroupArn must be \{"Ref"/);
    const lambda = template({ TgL: { Type: TG, Properties: { TargetType: 'lambda' } } });
    expect(() => loadModelFromTemplate(lambda)).toThrow('template: target group TgL has TargetType lambda, which the local proxy does not support');
  });
});

describe('readTemplateFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-template-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a template from disk', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(template()));
    expect(readTemplateFile(file, { onWarning: () => undefined }).listeners).toHaveLength(2);
  });
  it('names the file when it is missing or not JSON', () => {
    expect(() => readTemplateFile(join(dir, 'missing.json'))).toThrow(`${join(dir, 'missing.json')}: cannot be read (ENOENT); run \`npx cdk synth\` first`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{');
    expect(() => readTemplateFile(bad)).toThrow(new RegExp(`^${bad.replace(/[.\\/]/g, '\\$&')}: is not valid JSON`));
  });
});
