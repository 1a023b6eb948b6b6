/**
 * The drain CLI as a child process — the compiled dist/bin/drain.js that `npm run drain` runs —
 * against the local proxy as its ELBv2 endpoint: real sockets, real draining, the proxy's in-flight
 * counts as the early-finish signal. No AWS mock here: where AWS itself is needed, the SDK is
 * pointed at a stand-in Query API through its AWS_ENDPOINT_URL_* variables.
 */
import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import pino from 'pino';
import { targetGroupArn } from '../../lib/proxy/elbv2-api';
import { TargetsReport } from '../../lib/proxy/model';
import { createLoadBalancerRuntime } from '../../lib/proxy/runtime';
import { RunningProxy, startProxyServer } from '../../lib/proxy/server';
import { loadModelFromTemplate } from '../../lib/proxy/template';
import { selfSignedCertificate } from '../../lib/proxy/tls';
import { buildCli, runDrain } from '../support/drain-cli';
import { DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';

let proxy: RunningProxy;
let backends: Server[];
let ports: number[];
let endpoint: string;

/** A stand-in for one AWS API (Query: Auto Scaling, ELBv2; JSON: ECS): answers every call with `answer`. */
async function fakeAwsApi(answer: (action: string) => { status: number; body: string }): Promise<{ url: string; calls: string[]; close: () => void }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      // Query APIs (ELBv2, Auto Scaling) name the action in the form body; JSON APIs (ECS) in a header.
      const action = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? new URLSearchParams(body).get('Action') ?? '';
      calls.push(action);
      const { status, body: xml } = answer(action);
      res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => server.close() };
}

/** Static keys and a region, as a configured operator would have: the SDK signs and sends. */
const awsEnv = (endpoints: Record<string, string>): NodeJS.ProcessEnv => ({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'eu-west-1', AWS_PROFILE: '', ...endpoints });

/** Requests sent with `x-hold` wait here until a test answers them: in flight for as long as the test needs, whatever the load. */
const held: (() => void)[] = [];

async function slowBackend(delayMs: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    if (req.headers['x-hold']) return void held.push(() => res.end('done'));
    setTimeout(() => res.end('done'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function targets(): Promise<TargetsReport> {
  return (await (await fetch(`${endpoint}/targets`)).json()) as TargetsReport;
}

beforeAll(buildCli, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  backends = await Promise.all([slowBackend(1500), slowBackend(1500), slowBackend(1500)]);
  ports = backends.map((b) => (b.address() as AddressInfo).port);
  // A 60 s deregistration delay (600 s x 0.1): the targets drained below stay draining for the
  // whole file, and a drain that ends early is told apart from one that waited, whatever the load.
  const model = loadModelFromTemplate(stackTemplate({ services: { api: { deregistrationDelaySeconds: 600 } } }));
  const runtime = createLoadBalancerRuntime(model, { api: ports.map((port) => ({ host: '127.0.0.1', port })) }, { timeScale: 0.1 });
  proxy = await startProxyServer({ runtime, ports: { 80: 0, 443: 0 }, adminPort: 0, tls: await selfSignedCertificate(), log: pino({ level: 'silent' }) });
  endpoint = `http://127.0.0.1:${proxy.adminPort}`;
}, 60_000);

afterAll(async () => {
  await proxy.close();
  for (const b of backends) b.close();
});

test('drains a target while a request is in flight: the request completes, the drain ends early on the in-flight signal', async () => {
  const https = `https://localhost:${proxy.ports[443]}`;
  // Least outstanding requests: three concurrent slow requests land one on each target.
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });
  // Held until the drain waits on them, so they are in flight when it starts, whatever the load.
  const inFlight = [0, 1, 2].map(() => request(`${https}/api/slow`, { dispatcher: agent, headers: { 'x-hold': '1' } }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })));
  const target = `127.0.0.1:${ports[0]}`;
  await until(async () => (await inFlightOn(target)) > 0);
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--poll-interval', '0.2'], {}, (stderr) => {
    if (/waiting/.test(stderr)) for (const release of held.splice(0)) release();
  });
  const answers = await Promise.all(inFlight);
  await agent.close();
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`${target}: drained`));
  expect(result.stdout).toMatch(/ended by in-flight-zero/);
  expect(answers.every((a) => a.status === 200 && a.body === 'done')).toBe(true);
  // Far below the 60 s (600 s x 0.1) deregistration delay, which the API alone would have to wait for.
  expect(result.ms).toBeLessThan(20_000);
  const state = (await targets()).targetGroups.find((g) => g.name === 'api')!.targets.find((t) => t.id === target)?.state;
  expect(state).toBe('draining'); // the API keeps saying draining for the whole delay, like the ALB
}, 30_000);

test('running it again on the drained target succeeds without harm', async () => {
  const result = await runDrain(['--endpoint', endpoint, '--target', `127.0.0.1:${ports[0]}`, '--poll-interval', '0.2', '--json']);
  expect(result.code).toBe(0);
  const reports = JSON.parse(result.stdout) as { state: string }[];
  expect(reports[0].state).toBe('drained');
}, 30_000);

test('--dry-run prints the plan and changes nothing', async () => {
  const target = `127.0.0.1:${ports[1]}`;
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--dry-run']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/would deregister/);
  const state = (await targets()).targetGroups.find((g) => g.name === 'api')!.targets.find((t) => t.id === target)?.state;
  expect(state).not.toBe('draining');
}, 30_000);

test('--timeout: exit 7 when requests are still in flight', async () => {
  const https = `https://localhost:${proxy.ports[443]}`;
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });
  const target = `127.0.0.1:${ports[2]}`;
  // Four held requests over three targets: at least one is on the target until released below.
  const inFlight = [0, 1, 2, 3].map(() => request(`${https}/api/slow`, { dispatcher: agent, headers: { 'x-hold': '1' } }).then((r) => r.body.text()));
  await until(async () => (await inFlightOn(target)) > 0);
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--timeout', '0.5', '--poll-interval', '0.1']);
  for (const release of held.splice(0)) release();
  await Promise.all(inFlight);
  await agent.close();
  expect(result.code).toBe(7);
  expect(result.stdout).toMatch(/timed-out/);
}, 30_000);

/** Requests in flight on `target` in the api group, from the proxy's targets report. */
async function inFlightOn(target: string): Promise<number> {
  return (await targets()).targetGroups.find((g) => g.name === 'api')!.targets.find((t) => t.id === target)?.inFlight ?? 0;
}

/** Polls `condition` every 50 ms for at most 10 s (a bound, not an expected duration). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bad input: one clear line and a distinct exit code', () => {
  test('malformed id → 8 (its own code, not the usage code), before any call', async () => {
    const result = await runDrain(['--target', 'i-xyz']);
    expect(result.code).toBe(8);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('invalid target "i-xyz"');
  });

  test('no --target → 2', async () => {
    const result = await runDrain([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--target is required');
  });

  test('--standby with --terminate → 2', async () => {
    const result = await runDrain(['--target', 'i-0123456789abcdef0', '--standby', '--terminate']);
    expect(result.code).toBe(2);
  });

  test('--standby/--terminate where they could do nothing (--endpoint, ip:port) → 2, one line', async () => {
    const withEndpoint = await runDrain(['--endpoint', endpoint, '--target', 'i-0123456789abcdef0', '--standby']);
    expect(withEndpoint.code).toBe(2);
    expect(withEndpoint.stderr).toBe('error: --standby needs AWS Auto Scaling: it cannot be used with --endpoint\n');
    const withIp = await runDrain(['--target', '10.0.1.5:8080', '--terminate']);
    expect(withIp.code).toBe(2);
    expect(withIp.stderr).toBe('error: --terminate needs an instance id: 10.0.1.5:8080 is an ip:port target\n');
  });

  test('an unknown instance (in no target group, no Auto Scaling group) → 3', async () => {
    const autoScaling = await fakeAwsApi(() => ({
      status: 200,
      body: '<DescribeAutoScalingInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingInstancesResult><AutoScalingInstances/></DescribeAutoScalingInstancesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingInstancesResponse>',
    }));
    try {
      const env = awsEnv({ AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: endpoint, AWS_ENDPOINT_URL_AUTO_SCALING: autoScaling.url });
      const result = await runDrain(['--target', 'i-0123456789abcdef0'], env);
      expect(result.code).toBe(3);
      expect(result.stderr).toBe('drain: instance i-0123456789abcdef0 is in no Auto Scaling group and no target group: check the id and --region\n');
      expect(autoScaling.calls).toEqual(['DescribeAutoScalingInstances']);
    } finally {
      autoScaling.close();
    }
  }, 30_000);

  test('throttling beyond the retries → 9, after retrying', async () => {
    const elbv2 = await fakeAwsApi(() => ({
      status: 400,
      body: '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    }));
    try {
      const result = await runDrain(['--target', 'i-0123456789abcdef0'], awsEnv({ AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elbv2.url }));
      expect(result.code).toBe(9);
      expect(result.stderr).toBe('drain: AWS kept throttling requests (Throttling) beyond the retries; try again later\n');
      expect(elbv2.calls).toEqual(Array(6).fill('DescribeTargetGroups'));
    } finally {
      elbv2.close();
    }
  }, 30_000);

  test('a target in no target group → 4', async () => {
    const result = await runDrain(['--endpoint', endpoint, '--target', '127.0.0.1:1']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('drain: 127.0.0.1:1 is not registered in any target group: nothing to drain\n');
  });

  test('missing credentials → 5, with what to set', async () => {
    const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '', AWS_CONTAINER_CREDENTIALS_FULL_URI: '' };
    const result = await runDrain(['--target', 'i-0123456789abcdef0', '--region', 'eu-west-1'], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('drain: no AWS credentials found');
  }, 30_000);
});

test("several targets: one target's error does not stop the others; the exit code is the worst", async () => {
  // Registered again (drained by the tests above), as the re-register command would do.
  const elbv2 = new ElasticLoadBalancingV2Client({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const api = (await targets()).targetGroups.find((g) => g.name === 'api')!;
  await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn(api), Targets: [{ Id: '127.0.0.1', Port: ports[0] }] }));
  const result = await runDrain(['--endpoint', endpoint, '--target', '127.0.0.1:1', '--target', `127.0.0.1:${ports[0]}`, '--poll-interval', '0.2']);
  expect(result.code).toBe(4);
  expect(result.stderr).toContain('drain: 127.0.0.1:1 is not registered in any target group');
  expect(result.stdout).toContain(`127.0.0.1:${ports[0]}: drained`);
  expect(result.stdout).toContain('127.0.0.1:1: error: 127.0.0.1:1 is not registered');
}, 30_000);

test("Ctrl-C while waiting: exit 130, each target's state, re-register commands for what was deregistered (with --endpoint-url)", async () => {
  const https = `https://localhost:${proxy.ports[443]}`;
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });
  // ports[0] and ports[2] are draining after the tests above: these land on ports[1].
  // Held until the CLI has been interrupted: in flight for the whole drain, whatever the load.
  const inFlight = [0, 1].map(() => request(`${https}/api/long`, { dispatcher: agent, headers: { 'x-hold': '1' } }).then((r) => r.statusCode));
  const target = `127.0.0.1:${ports[1]}`;
  await until(async () => (await inFlightOn(target)) === 2);
  let interrupted = false;
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--target', '127.0.0.1:1', '--poll-interval', '0.2'], {}, (stderr, child) => {
    if (!interrupted && /waiting/.test(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  for (const release of held.splice(0)) release();
  expect(await Promise.all(inFlight)).toEqual([200, 200]); // the deregistered target still finished its requests
  await agent.close();
  expect(result.code).toBe(130);
  const apiArn = targetGroupArn((await targets()).targetGroups.find((g) => g.name === 'api')!);
  expect(result.stderr).toContain('interrupted. State of each target:');
  expect(result.stderr).toMatch(new RegExp(`${target} waiting .*api:${ports[1]} draining`));
  expect(result.stderr).toContain(`re-register: aws elbv2 register-targets --endpoint-url ${endpoint} --target-group-arn ${apiArn} --targets Id=127.0.0.1,Port=${ports[1]}`);
  expect(result.stderr.match(/re-register:/g)).toHaveLength(1); // only the group it was deregistered from
  expect(result.stderr).toContain('resume: run the same command again');
}, 30_000);

test('Ctrl-C during the ECS wait: nothing to re-register yet, and how to set the container instance back to ACTIVE', async () => {
  const ns = 'xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"';
  const tg = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';
  const xml = (action: string, result: string) => `<${action}Response ${ns}><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`;
  const elbv2 = await fakeAwsApi((action) => ({
    status: 200,
    body: {
      DescribeTargetGroups: xml(action, `<TargetGroups><member><TargetGroupArn>${tg}</TargetGroupArn><TargetGroupName>app</TargetGroupName><Port>80</Port></member></TargetGroups>`),
      DescribeTargetHealth: xml(action, '<TargetHealthDescriptions><member><Target><Id>i-0123456789abcdef0</Id><Port>32768</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member></TargetHealthDescriptions>'),
      DescribeTargetGroupAttributes: xml(action, '<Attributes><member><Key>deregistration_delay.timeout_seconds</Key><Value>30</Value></member></Attributes>'),
    }[action] ?? xml(action, ''),
  }));
  const instance = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/albatross/0f1e2d3c';
  const ecs = await fakeAwsApi((action) => ({
    status: 200,
    body: JSON.stringify(
      {
        ListContainerInstances: { containerInstanceArns: [instance] },
        DescribeContainerInstances: { containerInstances: [{ containerInstanceArn: instance, status: 'ACTIVE' }] },
        ListTasks: { taskArns: ['arn:aws:ecs:eu-west-1:123456789012:task/albatross/t1'] },
        DescribeTasks: { tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/albatross/t1', group: 'service:app', desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' }] },
      }[action] ?? {},
    ),
  }));
  try {
    const env = awsEnv({ AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elbv2.url, AWS_ENDPOINT_URL_ECS: ecs.url });
    let interrupted = false;
    const result = await runDrain(['--target', 'i-0123456789abcdef0', '--cluster', 'albatross', '--region', 'eu-west-1', '--poll-interval', '0.2'], env, (stderr, child) => {
      if (!interrupted && (stderr.match(/ecs-draining/g) ?? []).length >= 2) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(result.code).toBe(130);
    expect(ecs.calls).toContain('UpdateContainerInstancesState');
    expect(elbv2.calls).not.toContain('DeregisterTargets');
    expect(result.stderr).toContain('not deregistered from any target group yet');
    expect(result.stderr).not.toContain('re-register:');
    expect(result.stderr).toContain(
      `ECS container instance set DRAINING by this run; to serve again: aws ecs update-container-instances-state --region eu-west-1 --cluster albatross --container-instances ${instance} --status ACTIVE`,
    );
  } finally {
    elbv2.close();
    ecs.close();
  }
}, 30_000);

describe('faults and bounds', () => {
  test('--timeout bounds every call: an endpoint that accepts and never answers ends in one line, exit 7', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => void sockets.add(socket)); // accepts, reads nothing, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const result = await runDrain(['--endpoint', url, '--target', '127.0.0.1:9001', '--timeout', '1']);
      expect(result.code).toBe(7);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^drain: AWS kept failing until the timeout \(TimeoutError: .*\)\n$/);
      // --timeout 1 s: one request bounded by it, no retry started past it (generous bound for a loaded machine).
      expect(result.ms).toBeLessThan(8000);
      expect(sockets.size).toBeGreaterThanOrEqual(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 30_000);

  test('a malformed --endpoint is a usage error (2), one line, before any call', async () => {
    for (const endpoint of ['not a url', 'ftp://127.0.0.1:21']) {
      const result = await runDrain(['--endpoint', endpoint, '--target', '10.0.1.5:8080']);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain("option '--endpoint <url>' argument");
    }
  });

  test('--target [::1]:80 is accepted, as the proxy accepts it (here: registered nowhere → 4)', async () => {
    const result = await runDrain(['--endpoint', endpoint, '--target', '[::1]:80']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('drain: [::1]:80 is not registered in any target group: nothing to drain\n');
  });

  describe.each([
    ['--standby', 'EnterStandby'],
    ['--terminate', 'TerminateInstanceInAutoScalingGroup'],
  ])('%s', (flag, action) => {
    test(`${action} is retried after a 503, like the engine's calls`, async () => {
      const ns = 'xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"';
      const tg = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';
      const xml = (a: string, result: string, n = ns) => `<${a}Response ${n}><${a}Result>${result}</${a}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${a}Response>`;
      let healthCalls = 0;
      const answers: Record<string, () => string> = {
        DescribeTargetGroups: () => `<TargetGroups><member><TargetGroupArn>${tg}</TargetGroupArn><TargetGroupName>app</TargetGroupName><Port>80</Port></member></TargetGroups>`,
        // Registered when found, then gone (unused) once deregistered.
        DescribeTargetHealth: () => `<TargetHealthDescriptions><member><Target><Id>i-0123456789abcdef0</Id><Port>32768</Port></Target><TargetHealth><State>${healthCalls++ === 0 ? 'healthy' : 'unused'}</State></TargetHealth></member></TargetHealthDescriptions>`,
        DescribeTargetGroupAttributes: () => '<Attributes><member><Key>deregistration_delay.timeout_seconds</Key><Value>30</Value></member></Attributes>',
      };
      const elbv2 = await fakeAwsApi((a) => ({ status: 200, body: xml(a, answers[a]?.() ?? '') }));
      const asNs = 'xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"';
      let failed = false;
      const autoScaling = await fakeAwsApi((a) => {
        if (a === action && !failed) {
          failed = true;
          return { status: 503, body: `<ErrorResponse ${asNs}><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try again</Message></Error><RequestId>r</RequestId></ErrorResponse>` };
        }
        if (a === 'DescribeAutoScalingInstances') return { status: 200, body: xml(a, '<AutoScalingInstances><member><InstanceId>i-0123456789abcdef0</InstanceId><AutoScalingGroupName>asg</AutoScalingGroupName></member></AutoScalingInstances>', asNs) };
        return { status: 200, body: xml(a, '', asNs) };
      });
      try {
        const env = awsEnv({ AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elbv2.url, AWS_ENDPOINT_URL_AUTO_SCALING: autoScaling.url });
        const result = await runDrain(['--target', 'i-0123456789abcdef0', flag, '--poll-interval', '0.2'], env);
        expect(result.stderr).not.toMatch(/error/i);
        expect(result.code).toBe(0);
        expect(autoScaling.calls.filter((c) => c === action)).toHaveLength(2);
      } finally {
        elbv2.close();
        autoScaling.close();
      }
    }, 30_000);
  });
});
test('--admin-token (ALBATROSS_ADMIN_TOKEN): drains through a proxy whose admin API requires a token; without it, fails in one line', async () => {
  const token = 'drain-test-token';
  const model = loadModelFromTemplate(stackTemplate({ services: { api: { deregistrationDelaySeconds: 60 } } }));
  const runtime = createLoadBalancerRuntime(model, { api: ports.map((port) => ({ host: '127.0.0.1', port })) }, { timeScale: 0.1 });
  const guarded = await startProxyServer({ runtime, ports: { 80: 0, 443: 0 }, adminPort: 0, adminToken: token, tls: await selfSignedCertificate(), log: pino({ level: 'silent' }) });
  try {
    const guardedEndpoint = `http://127.0.0.1:${guarded.adminPort}`;
    const target = `127.0.0.1:${ports[1]}`;
    const refused = await runDrain(['--endpoint', guardedEndpoint, '--target', target, '--poll-interval', '0.2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(runtime.targetGroup('api')!.status().find((t) => t.id === target)?.state).not.toBe('draining');
    const drained = await runDrain(['--endpoint', guardedEndpoint, '--target', target, '--poll-interval', '0.2'], { ALBATROSS_ADMIN_TOKEN: token });
    expect(drained.stderr).not.toMatch(/error/i);
    expect(drained.code).toBe(0);
    // The in-flight signal (GET /targets, with the token) ended it, not the 6 s delay.
    expect(drained.stdout).toMatch(/ended by in-flight-zero/);
  } finally {
    await guarded.close();
  }
}, 30_000);
