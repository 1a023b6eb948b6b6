/** `npm run alert-rules` as a child process (dist/bin/alert-rules.js): the file, and bad input in one line. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDist, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'bin', 'alert-rules.js');
let dir: string;
let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'albatross-alert-rules-'));
  template = stackTemplate() as typeof template;
  writeFileSync(join(dir, 'ok.json'), JSON.stringify(template));
}, 120_000);

test('--out writes the rule file; stderr lists each alarm left out and the count written', () => {
  const result = run(['--template', join(dir, 'ok.json'), '--out', join(dir, 'rules.yaml')]);
  expect(result.status).toBe(0);
  const rules = (parse(readFileSync(join(dir, 'rules.yaml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups[0].rules;
  expect(rules.map((r) => r.alert)).toContain('Albatross-web-Target5xxRate');
  expect(result.stderr).toContain('not reproducible locally: Albatross-RejectedConnections: ');
  expect(result.stderr.trim().split('\n').pop()).toBe(`${rules.length} rules written to ${join(dir, 'rules.yaml')}`);
});

test('a malformed alarm: one line naming the file, the alarm and the field; exit 1', () => {
  const broken = structuredClone(template);
  const [id] = Object.entries(broken.Resources).find(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === 'Albatross-api-TargetResponseTimeP95')!;
  broken.Resources[id].Properties.EvaluationPeriods = '3';
  writeFileSync(join(dir, 'broken.json'), JSON.stringify(broken));
  const result = run(['--template', join(dir, 'broken.json')]);
  expect(result.stderr).toBe(`alert-rules: ${join(dir, 'broken.json')}: alarm ${id} EvaluationPeriods must be a number (got "3")\n`);
  expect(result.stdout).toBe('');
  expect(result.status).toBe(1);
});

test.each([
  ['a missing file', '/nonexistent/t.json', 'alert-rules: cannot read /nonexistent/t.json: ENOENT'],
  ['a file that is not JSON', 'NOT_JSON', /^alert-rules: \S+not.json is not JSON: /],
])('%s: one line, exit 1', (_, file, message) => {
  const path = file === 'NOT_JSON' ? join(dir, 'not.json') : file;
  if (file === 'NOT_JSON') writeFileSync(path, '{"Resources": ');
  const result = run(['--template', path]);
  expect(result.stderr.trim().split('\n')).toEqual([typeof message === 'string' ? message : expect.stringMatching(message)]);
  expect(result.status).toBe(1);
});

test('--help says what it does and which options it takes', () => {
  const result = run(['--help']);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/Prometheus alerting rules[\s\S]*--template <file>[\s\S]*--out <file>/);
});

test('an unknown option: one line, exit 1', () => {
  const result = run(['--bogus']);
  expect(result.stderr.trim().split('\n')).toEqual(["error: unknown option '--bogus'"]);
  expect(result.status).toBe(1);
});
