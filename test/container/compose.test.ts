/**
 * compose.yaml is generated from the synthesized template (`npm run compose`, bin/compose.ts): the
 * committed file is what the generator writes for the default template, it runs one sample app per
 * desired task of each service, and the CLI's --check catches a stale or hand-edited file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { composeFromTemplate } from '../../lib/proxy/compose';
import { readServices } from '../../lib/proxy/services';
import { loadModelFromTemplate } from '../../lib/proxy/template';
import { buildDist, builtEntryPoint, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';

const ROOT = join(__dirname, '..', '..');
const committed = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');

interface ComposeService {
  entrypoint?: string[];
  command: string[];
  depends_on?: Record<string, unknown>;
}

test('the committed compose.yaml is what `npm run compose` writes for the default template', () => {
  expect(committed).toBe(composeFromTemplate(stackTemplate(), 'cdk.out/Albatross.template.json'));
}, 120_000);

test("one sample app per desired task of each of the template's services, naming its service; the proxy over them by service", () => {
  const template = stackTemplate();
  const services = readServices(template, loadModelFromTemplate(template, { onWarning: () => undefined }));
  const compose = parse(committed, { merge: true }) as { services: Record<string, ComposeService> };
  const apps = Object.entries(compose.services).filter(([, s]) => s.entrypoint?.join(' ') === 'node dist/bin/sample-app.js');
  const flag = (s: ComposeService, name: string) => s.command[s.command.indexOf(name) + 1];
  expect(apps.map(([name, s]) => [name, flag(s, '--name'), flag(s, '--service')])).toEqual(
    services.flatMap((s) => Array.from({ length: s.replicas }, (_, i) => [`${s.name}-${i + 1}`, `${s.name}-${i + 1}`, s.name])),
  );
  const proxy = compose.services.proxy;
  expect(Object.keys(proxy.depends_on ?? {})).toEqual(apps.map(([name]) => name));
  const targets = proxy.command.flatMap((a, i) => (proxy.command[i - 1] === '--targets' ? [a] : []));
  const groups = [...new Set(services.flatMap((s) => s.targetGroups))];
  expect(targets).toEqual(groups.map((g) => `${g}=${services.filter((s) => s.targetGroups.includes(g)).flatMap((s) => Array.from({ length: s.replicas }, (_, i) => `${s.name}-${i + 1}:8080`)).join(',')}`));
}, 120_000);

describe('the CLI (dist/bin/compose.js)', () => {
  beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);
  const run = (...args: string[]) => spawnSync(process.execPath, [builtEntryPoint('compose'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

  test('writes the file, --check passes on it and fails in one line once it is edited', () => {
    const dir = mkdtempSync(join(tmpdir(), 'albatross-compose-cli-'));
    const templateFile = join(dir, 'Albatross.template.json');
    writeFileSync(templateFile, JSON.stringify(stackTemplate()));
    const out = join(dir, 'compose.yaml');
    expect(run('--template', templateFile, '--out', out).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(committed);
    expect(run('--template', templateFile, '--out', out, '--check').status).toBe(0);
    writeFileSync(out, committed.replace('--service', '--name'));
    const stale = run('--template', templateFile, '--out', out, '--check');
    expect({ status: stale.status, stderr: stale.stderr }).toEqual({ status: 1, stderr: `compose: ${out} is not what ${templateFile} gives; run \`npm run compose\`\n` });
  }, 60_000);

  test('a missing template is one line that says to run cdk synth, exit 1', () => {
    const missing = run('--template', '/nonexistent/t.json', '--check');
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^compose: \/nonexistent\/t\.json: cannot be read as JSON \(ENOENT\); run `npx cdk synth` first$/)]);
  });
});
