/** The ELBv2 Query API of the local proxy, exercised with the real AWS SDK client over loopback. */
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  TargetGroupNotFoundException,
  InvalidTargetException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { handleElbv2Request, loadBalancerArn, targetGroupArn } from '../../../lib/proxy/elbv2-api';
import { LoadBalancerModel } from '../../../lib/proxy/model';
import { createLoadBalancerRuntime, DataPlaneRuntime } from '../../../lib/proxy/runtime';
import { Backend, groupModel, startBackend, waitFor } from './support/backends';

function model(): LoadBalancerModel {
  return {
    logicalId: 'EdgeLoadBalancer9EA98EDF',
    idleTimeoutSeconds: 60,
    dropInvalidHeaderFields: true,
    desyncMitigationMode: 'defensive',
    http2Enabled: true,
    listeners: [],
    targetGroups: {
      TgApp: groupModel({ deregistrationDelaySeconds: 30 }), // 300 ms at time scale 0.01
      TgApi: groupModel({ logicalId: 'TgApi', name: 'api', algorithm: 'least_outstanding_requests', stickiness: { enabled: true, type: 'lb_cookie', durationSeconds: 600 } }),
    },
  };
}

describe('ELBv2 Query API with the real SDK client', () => {
  let runtime: DataPlaneRuntime;
  let server: Server;
  let client: ElasticLoadBalancingV2Client;
  let backends: Backend[];
  const appArn = targetGroupArn({ name: 'app', logicalId: 'TgApp' });

  beforeEach(async () => {
    backends = [await startBackend(), await startBackend()];
    runtime = createLoadBalancerRuntime(model(), { app: [backends[0].address] }, { timeScale: 0.01 });
    runtime.start();
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const answer = handleElbv2Request(runtime, body);
        res.writeHead(answer.statusCode, { 'content-type': answer.contentType });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new ElasticLoadBalancingV2Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await runtime.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(backends.map((b) => b.close()));
  });

  it('uses local ARNs derived from the name and logical id', () => {
    expect(appArn).toMatch(/^arn:aws:elasticloadbalancing:local:000000000000:targetgroup\/app\/[0-9a-f]{16}$/);
    expect(targetGroupArn({ name: 'app', logicalId: 'TgApp' })).toBe(appArn);
    expect(targetGroupArn({ name: 'app', logicalId: 'Other' })).not.toBe(appArn);
  });

  it('DescribeTargetGroups lists the groups with their health check settings, by ARN or name', async () => {
    const all = await client.send(new DescribeTargetGroupsCommand({}));
    expect(all.TargetGroups?.map((g) => g.TargetGroupName)).toEqual(['app', 'api']);
    expect(all.TargetGroups?.[0]).toMatchObject({
      TargetGroupArn: appArn,
      Protocol: 'HTTP',
      Port: 8080,
      HealthCheckEnabled: true,
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      LoadBalancerArns: [loadBalancerArn('EdgeLoadBalancer9EA98EDF')],
    });
    const byName = await client.send(new DescribeTargetGroupsCommand({ Names: ['api'] }));
    expect(byName.TargetGroups?.map((g) => g.TargetGroupName)).toEqual(['api']);
    const byArn = await client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [appArn] }));
    expect(byArn.TargetGroups?.map((g) => g.TargetGroupName)).toEqual(['app']);
  });

  it('DescribeTargetGroupAttributes returns the attributes from the template', async () => {
    const api = targetGroupArn({ name: 'api', logicalId: 'TgApi' });
    const out = await client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: api }));
    const attrs = Object.fromEntries((out.Attributes ?? []).map((a) => [a.Key, a.Value]));
    expect(attrs).toMatchObject({
      'deregistration_delay.timeout_seconds': '30',
      'load_balancing.algorithm.type': 'least_outstanding_requests',
      'stickiness.enabled': 'true',
      'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '600',
      'slow_start.duration_seconds': '0',
    });
  });

  it('registers, reports health and keeps reporting draining for the whole delay after an early finish', async () => {
    const [a, b] = backends;
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: b.address.port }] }));
    const first = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: appArn }));
    // The first check may already have answered: either initial reason is right.
    expect([
      { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
      { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' },
    ]).toContainEqual(first.TargetHealthDescriptions?.find((d) => d.Target?.Port === b.address.port)?.TargetHealth);
    await waitFor(() => runtime.report().targetGroups[0].targets.every((t) => t.state === 'healthy'), 3000, 'healthy');
    const healthy = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: appArn }));
    expect(healthy.TargetHealthDescriptions?.map((d) => [d.Target?.Id, d.Target?.Port, d.TargetHealth?.State])).toEqual([
      ['127.0.0.1', a.address.port, 'healthy'],
      ['127.0.0.1', b.address.port, 'healthy'],
    ]);

    const started = Date.now();
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: a.address.port }] }));
    // Nothing is in flight: the data plane finished at once, but the API says draining until the delay ends.
    const states: string[] = [];
    while (Date.now() - started < 200) {
      const d = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: a.address.port }] }));
      states.push(d.TargetHealthDescriptions?.[0].TargetHealth?.State ?? '?');
    }
    expect(new Set(states)).toEqual(new Set(['draining']));
    await waitFor(() => runtime.report().targetGroups[0].targets.length === 1, 3000, 'delay over');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const after = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: a.address.port }] }));
    expect(after.TargetHealthDescriptions?.[0].TargetHealth).toEqual({ State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' });
  });

  it('answers ELBv2 errors the SDK maps to its exception classes', async () => {
    const missing = 'arn:aws:elasticloadbalancing:local:000000000000:targetgroup/nope/0000000000000000';
    await expect(client.send(new DescribeTargetHealthCommand({ TargetGroupArn: missing }))).rejects.toBeInstanceOf(TargetGroupNotFoundException);
    await expect(client.send(new DeregisterTargetsCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: 1 }] }))).rejects.toBeInstanceOf(InvalidTargetException);
    await expect(client.send(new RegisterTargetsCommand({ TargetGroupArn: appArn, Targets: [{ Id: '127.0.0.1', Port: 70000 }] }))).rejects.toBeInstanceOf(InvalidTargetException);
    const validation = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: '' })).catch((e: Error) => e);
    expect(validation).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
  });

  it('returns the XML shape of ELBv2, with namespace and request id', () => {
    const ok = handleElbv2Request(runtime, 'Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=' + encodeURIComponent(appArn));
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeTargetHealthResponse xmlns="http:\/\/elasticloadbalancing.amazonaws.com\/doc\/2015-12-01\/"><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>127.0.0.1<\/Id><Port>\d+<\/Port><\/Target>.*<\/DescribeTargetHealthResult><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeTargetHealthResponse>$/,
    );
    const bad = handleElbv2Request(runtime, 'Action=CreateLoadBalancer&Version=2015-12-01');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<Code>InvalidAction</Code>');
    expect(bad.body).toContain('<Type>Sender</Type>');
  });
});
