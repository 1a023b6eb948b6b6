import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Runs the CDK app the way the CDK CLI does: context in CDK_CONTEXT_JSON, output to CDK_OUTDIR. */
function runApp(context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'albatross-app-'));
  const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };
  // cdk.json's own app command (bin/cdk-app.cjs: dist/ when fresh, else the sources).
  const [command, ...args] = cdkJson.app.split(' ');
  const result = spawnSync(command === 'node' ? process.execPath : command, args, {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context }) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr, outdir };
}

test('synthesizes the template offline from cdk.json context', () => {
  const { status, stderr, outdir } = runApp({});
  expect(stderr).not.toMatch(/Error/);
  expect(status).toBe(0);
  const template = JSON.parse(readFileSync(join(outdir, 'Albatross.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
  expect(Object.values(template.Resources).some((r) => r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer')).toBe(true);
}, 60_000);

test('an invalid setting stops synth with the field name and the allowed range', () => {
  const { status, stderr } = runApp({ 'albatross.services': JSON.stringify({ api: { deregistrationDelaySeconds: 4000 } }) });
  expect(status).toBe(1);
  expect(stderr).toContain('services.api.deregistrationDelaySeconds must be an integer from 0 to 3600 (got 4000)');
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace, just the problem
}, 60_000);

test('the old single-service shape stops synth saying how to migrate, without a stack trace', () => {
  const { status, stderr } = runApp({ 'albatross.targetGroups': JSON.stringify({ app: { deregistrationDelaySeconds: 60 } }) });
  expect(status).toBe(1);
  expect(stderr).toContain('targetGroups was replaced by services.<name>');
  expect(stderr).not.toMatch(/\n\s+at /);
}, 60_000);

test('a misspelled setting and a wrong shape stop synth with one readable message listing both', () => {
  const { status, stderr } = runApp({ 'albatross.loadBalancer.idleTimeoutSecond': '5', 'albatross.rules': '[null]' });
  expect(status).toBe(1);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace, no TypeError
  expect(stderr.slice(stderr.indexOf('Invalid Albatross configuration')).trim()).toBe(
    [
      'Invalid Albatross configuration:',
      '  - loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?',
      '  - rules[0] must be an object { priority, conditions, action } (got null)',
    ].join('\n'),
  );
}, 60_000);

test('a missing certificate ARN and domain says how to pass one', () => {
  const { status, stderr } = runApp({ albatross: {} });
  expect(status).toBe(1);
  expect(stderr).toContain('certificateArn or domain is required: pass the ARN of an ACM certificate');
}, 60_000);

test('a domain from the command line replaces the placeholder certificate, offline', () => {
  const domain = { name: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
  const { status, stderr, outdir } = runApp({ 'albatross.certificateArn': 'null', 'albatross.domain': JSON.stringify(domain) });
  expect(stderr).not.toMatch(/Error/);
  expect(status).toBe(0);
  // A lookup (HostedZone.fromLookup) would leave "missing" context in the manifest for the CLI to fetch.
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
  expect(manifest.missing ?? []).toEqual([]);
  const template = JSON.parse(readFileSync(join(outdir, 'Albatross.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
  expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Route53::RecordSet')).toHaveLength(2);
}, 60_000);
