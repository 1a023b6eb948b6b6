/**
 * compose's Prometheus, without Docker: the alert-rules service's command runs as-is with node
 * (mounted paths mapped to a temporary directory), and promtool checks the Prometheus config with
 * the rule file it wrote. The scrape target is the proxy's admin port.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { buildDist, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';
import { alertRulesFromTemplate } from '../../lib/alerts/prometheus-rules';
import { loadModelFromTemplate } from '../../lib/proxy/template';

const ROOT = join(__dirname, '..', '..');
interface Service {
  entrypoint?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  command: string[];
  ports?: string[];
  volumes?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; secrets?: Record<string, { environment?: string }> };
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const promtool = spawnSync('promtool', ['--version']).status === 0;
const inCi = process.env.CI === 'true';

beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

test("Prometheus scrapes the proxy's admin /metrics on a port compose publishes", () => {
  const config = parse(readFileSync(join(ROOT, 'compose', 'prometheus.yml'), 'utf8')) as { scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] };
  const [job] = config.scrape_configs;
  expect(job.metrics_path).toBe('/metrics');
  // The proxy's admin API keeps its default port (bin/proxy.ts --admin-port) and binds all interfaces in compose.
  const proxy = compose.services.proxy;
  expect(proxy.command.join(' ')).toContain('--admin-bind 0.0.0.0');
  expect(proxy.command).not.toContain('--admin-port');
  const help = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'proxy.js'), '--help'], { encoding: 'utf8' }).stdout;
  const adminPort = /--admin-port <port>[\s\S]*?\(default: (\d+)\)/.exec(help)?.[1];
  expect(job.static_configs[0].targets).toEqual([`proxy:${adminPort}`]);
});

test("Prometheus sends the proxy's admin token: the admin API refuses /metrics without it", () => {
  const config = parse(readFileSync(join(ROOT, 'compose', 'prometheus.yml'), 'utf8')) as { scrape_configs: { authorization?: { type: string; credentials_file: string } }[] };
  const auth = config.scrape_configs[0].authorization;
  expect(auth?.type).toBe('Bearer');
  // The file is compose's secret, made from the same variable the proxy reads its token from.
  const secret = /^\/run\/secrets\/(.+)$/.exec(auth?.credentials_file ?? '')?.[1];
  expect(compose.services.prometheus.secrets).toContain(secret);
  expect(compose.secrets?.[secret!]?.environment).toBe('ALBATROSS_ADMIN_TOKEN');
  expect(Object.keys(compose.services.proxy.environment ?? {})).toContain('ALBATROSS_ADMIN_TOKEN');
});

test('the alert-rules service loads nothing the runtime image deletes', async () => {
  const removed = [...dockerfile.matchAll(/node_modules\/([\w@/-]+)/g)].map((m) => m[1]);
  const result = await build({ entryPoints: [join(ROOT, 'dist', 'bin', 'alert-rules.js')], bundle: true, platform: 'node', write: false, metafile: true, logLevel: 'silent', outdir: tmpdir() });
  const inputs = Object.keys(result.metafile!.inputs);
  for (const name of removed) expect(inputs.filter((i) => i.includes(`node_modules/${name}/`))).toEqual([]);
});

(promtool || inCi ? test : test.skip)("the alert-rules service's command writes the rules the Prometheus config loads, and promtool accepts both", () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-prometheus-'));
  const template = stackTemplate();
  writeFileSync(join(dir, 'Albatross.template.json'), JSON.stringify(template));
  // One rule per reproducible alarm of the template: since issue 12 a service's 5xx rate, p95 and
  // unhealthy hosts (docs/alerts.md), so their count follows the services.
  const expected = alertRulesFromTemplate(template).rules.length;
  expect(expected).toBe(3 * Object.keys(loadModelFromTemplate(template, { onWarning: () => undefined }).targetGroups).length);
  const service = compose.services['alert-rules'];
  const args = [...service.entrypoint!, ...service.command].map((a) => a.replace(/^\/config\//, `${dir}/`).replace(/^\/rules\//, `${dir}/`));
  const generated = spawnSync(args[0] === 'node' ? process.execPath : args[0], args.slice(1), { cwd: ROOT, encoding: 'utf8' });
  expect(generated.stderr).toMatch(new RegExp(`^${expected} rules written`, 'm'));
  expect(generated.status).toBe(0);
  // compose mounts the rules volume at /rules and its admin_token secret under /run/secrets.
  writeFileSync(join(dir, 'admin_token'), 'test-token');
  const config = readFileSync(join(ROOT, 'compose', 'prometheus.yml'), 'utf8').replace('/rules/', `${dir}/`).replace('/run/secrets/', `${dir}/`);
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const checked = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
  expect(`${checked.stdout}${checked.stderr}`).toMatch(new RegExp(`SUCCESS: ${expected} rules found`));
  expect(checked.status).toBe(0);
}, 60_000);
