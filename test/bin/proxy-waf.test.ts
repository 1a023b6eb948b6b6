/**
 * The proxy CLI (dist/bin/proxy.js, a child process) and the template's web ACL: enforced by
 * default, one warning per rule it cannot reproduce, a malformed web ACL refused at start in one
 * line naming the resource, and `--no-waf`.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from '../../lib/util/net';
import { buildDist, builtEntryPoint, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate, statusLine } from '../lib/proxy/support/proxy';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- template surgery

const PROXY = builtEntryPoint('proxy');
const children: ChildProcess[] = [];
let dir: string;
let template: Json;

// The proxy as `npm run build` compiles it, built once per jest run (test/support/dist.ts).
beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'albatross-proxy-waf-'));
  template = stackTemplate();
}, 120_000);

afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

/** Writes the stack's template with its web ACL's properties changed by `edit`. */
function templateFile(name: string, edit: (acl: Json) => void = () => undefined): string {
  const copy = JSON.parse(JSON.stringify(template)) as Json;
  const acl = Object.values(copy.Resources as Json).find((r: Json) => r.Type === 'AWS::WAFv2::WebACL');
  edit(acl.Properties);
  const file = join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify(copy));
  return file;
}

/** Starts the CLI; resolves once its admin API answers, with what it logged so far. */
async function startCli(file: string, args: string[] = []): Promise<{ http: number; admin: string; stdout: () => string }> {
  const [http, https, adminPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [PROXY, '--template', file, '--listen', `80=${http}`, '--listen', `443=${https}`, '--admin-port', String(adminPort), '--log-level', 'info', '--time-scale', '0.01', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitForHttp(`${admin}/healthz`);
  return { http, admin, stdout: () => stdout };
}

/** The status line the HTTP listener answers to a POST declaring `length` bytes (none sent). */
function declaredPost(port: number, length: number): Promise<string> {
  return statusLine(port, `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\n`);
}

/** Lines of pino's JSON output at warn level (40), their messages. */
function warnings(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40)
    .map((l) => l.msg);
}

test('enforced by default; a rule with a statement the proxy cannot evaluate: it starts, with one warning naming the rule', async () => {
  const file = templateFile('geo', (acl) => acl.Rules.push({ Name: 'BlockSomeCountries', Priority: 1, Action: { Block: {} }, Statement: { GeoMatchStatement: { CountryCodes: ['FR'] } }, VisibilityConfig: {} }));
  const cli = await startCli(file);
  expect(await declaredPost(cli.http, 6 * 1024 * 1024)).toBe('HTTP/1.1 413 Payload Too Large');
  const warned = warnings(cli.stdout());
  expect(warned.filter((w) => w.includes('rule BlockSomeCountries'))).toEqual([expect.stringMatching(/^web ACL \w+ rule BlockSomeCountries not enforced locally: GeoMatchStatement is not reproduced/)]);
  // One line each for the managed rule groups' rules it does not have.
  expect(warned.filter((w) => /rule AWSManagedRules(CommonRuleSet|KnownBadInputsRuleSet) not enforced locally/.test(w))).toHaveLength(2);
  const ready = cli.stdout().split('\n').find((l) => l.includes('albatross proxy ready'));
  expect(JSON.parse(ready ?? '{}').webAcl).toMatchObject({ rules: expect.arrayContaining(['DeclaredBodySizeLimit', 'RateLimit-upload']), notEnforced: expect.arrayContaining(['BlockSomeCountries']) });
  const metrics = await (await fetch(`${cli.admin}/metrics`)).text();
  expect(metrics).toContain('albatross_waf_requests_total{rule="DeclaredBodySizeLimit",action="block"} 1');
}, 60_000);

test('a malformed web ACL: exit 1 with one line naming the resource and the rule', () => {
  const file = templateFile('malformed', (acl) => (acl.Rules[3].Statement.RateBasedStatement.EvaluationWindowSec = 45));
  const result = spawnSync(process.execPath, [PROXY, '--template', file, '--admin-port', '0'], { encoding: 'utf8', timeout: 20_000 });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^albatross-proxy: .*malformed\.template\.json: web ACL WafWebAcl\w+ rule RateLimit-api\.Statement\.RateBasedStatement\.EvaluationWindowSec: must be one of 60, 120, 300, 600 \(got 45\)$/)]);
});

test('--no-waf: the web ACL is neither read nor enforced (a malformed one starts too)', async () => {
  const file = templateFile('malformed-no-waf', (acl) => delete acl.Rules[0].Name);
  const cli = await startCli(file, ['--no-waf']);
  // The HTTP listener's redirect, where the web ACL would have answered 413.
  expect(await declaredPost(cli.http, 6 * 1024 * 1024)).toBe('HTTP/1.1 301 Moved Permanently');
  const ready = cli.stdout().split('\n').find((l) => l.includes('albatross proxy ready'));
  expect(JSON.parse(ready ?? '{}').webAcl).toBe('off (--no-waf)');
  expect(await (await fetch(`${cli.admin}/metrics`)).text()).not.toContain('albatross_waf_requests_total{');
}, 60_000);
