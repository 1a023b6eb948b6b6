/**
 * The generated rules under Prometheus's own evaluator (`promtool test rules`, Debian package
 * prometheus, installed by .ci/run): synthetic /metrics series in, alerts out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertRulesFromTemplate, AlertRule, formatRuleFile } from '../../../lib/alerts/prometheus-rules';
import { synthStack } from '../../support/stack';

const INSTALL_HINT = 'install it with `apt-get install -y prometheus` (Debian), which .ci/run does';
const inCi = process.env.CI === 'true';

function promtoolVersion(): string | undefined {
  const result = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? /version (\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? 'unknown' : undefined;
}

const version = promtoolVersion();
if (!version && !inCi) process.stderr.write(`promtool not found, alert-rule tests skipped: ${INSTALL_HINT}\n`);

describe('promtool is available where it must be', () => {
  (inCi ? test : test.skip)('in CI (CI=true) a missing promtool fails the run', () => {
    if (!version) throw new Error(`promtool is required in CI: ${INSTALL_HINT}`);
  });
});

/** `values` notation of promtool: start+increment per 15 s sample, for 10 minutes. */
function counter(perSample: number): string {
  return `0+${perSample}x40`;
}

const requests = (group: string, code: number, perSample: number) => ({
  series: `albatross_requests_total{listener="443",target_group="${group}",code="${code}"}`,
  values: counter(perSample),
});

const bucket = (group: string, le: string, perSample: number) => ({ series: `albatross_request_duration_seconds_bucket{target_group="${group}",le="${le}"}`, values: counter(perSample) });

/** Requests to `group` answered in 0.5–1 s (slow) or under 0.1 s (fast), 20 per sample. */
function latency(slow: boolean, group = 'api'): object[] {
  return ['0.1', '0.25', '0.5', '1', '+Inf'].map((le) => bucket(group, le, slow ? (le === '1' || le === '+Inf' ? 20 : 0) : 20));
}

function health(group: string, target: string, state: 'healthy' | 'unhealthy', value: 0 | 1) {
  return { series: `albatross_target_health{target_group="${group}",target="${target}",state="${state}"}`, values: `${value}x40` };
}

(version ? describe : describe.skip)(`promtool ${version ?? 'not installed'} test rules on the generated alert rules`, () => {
  let dir: string;
  let rules: AlertRule[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'albatross-alerts-'));
    const result = alertRulesFromTemplate(synthStack().template.toJSON());
    rules = result.rules;
    writeFileSync(join(dir, 'rules.yaml'), formatRuleFile(result, 'test'));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function firing(alert: string, extraLabels: Record<string, string> = {}) {
    const r = rules.find((x) => x.alert === alert);
    if (!r) throw new Error(`no rule ${alert}`);
    return [{ exp_labels: { ...r.labels, ...extraLabels }, exp_annotations: r.annotations }];
  }

  /** Runs one promtool unit test: series in, the alerts expected at each time; returns promtool's output on failure. */
  function promtool(inputSeries: object[], alerts: { eval_time: string; alertname: string; exp_alerts: object[] }[]): { status: number | null; output: string } {
    const file = join(dir, 'test.yaml');
    // JSON is YAML: promtool reads it as is.
    writeFileSync(file, JSON.stringify({ rule_files: ['rules.yaml'], evaluation_interval: '15s', tests: [{ interval: '15s', input_series: inputSeries, alert_rule_test: alerts }] }));
    const result = spawnSync('promtool', ['test', 'rules', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test("a 2 % target 5xx rate of a service fires that service's 5xx alarm after DatapointsToAlarm periods, not before, and no other service's", () => {
    const series = [requests('api', 200, 196), requests('api', 500, 4), requests('web', 200, 200)];
    const result = promtool(series, [
      { eval_time: '90s', alertname: 'Albatross-api-Target5xxRate', exp_alerts: [] },
      { eval_time: '5m', alertname: 'Albatross-api-Target5xxRate', exp_alerts: firing('Albatross-api-Target5xxRate') },
      { eval_time: '5m', alertname: 'Albatross-web-Target5xxRate', exp_alerts: [] },
    ]);
    expect(result).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  test('a 0.5 % target 5xx rate does not fire', () => {
    const result = promtool([requests('api', 200, 199), requests('api', 503, 1)], [{ eval_time: '9m', alertname: 'Albatross-api-Target5xxRate', exp_alerts: [] }]);
    expect(result).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  test('the check is real: promtool fails when the 0.5 % case is expected to fire', () => {
    const result = promtool([requests('api', 200, 199), requests('api', 503, 1)], [{ eval_time: '9m', alertname: 'Albatross-api-Target5xxRate', exp_alerts: firing('Albatross-api-Target5xxRate') }]);
    expect(result.status).not.toBe(0);
  });

  test('5xx answered by redirects or fixed responses (target group "-") do not count as target 5xx', () => {
    const result = promtool([requests('web', 200, 200), requests('-', 500, 50)], [{ eval_time: '5m', alertname: 'Albatross-web-Target5xxRate', exp_alerts: [] }]);
    expect(result).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  test("p95 above 500 ms fires the service's latency alarm, not another service's; under 100 ms it does not", () => {
    expect(
      promtool(latency(true), [
        { eval_time: '5m', alertname: 'Albatross-api-TargetResponseTimeP95', exp_alerts: firing('Albatross-api-TargetResponseTimeP95') },
        { eval_time: '5m', alertname: 'Albatross-web-TargetResponseTimeP95', exp_alerts: [] },
      ]).status,
    ).toBe(0);
    expect(promtool(latency(false), [{ eval_time: '5m', alertname: 'Albatross-api-TargetResponseTimeP95', exp_alerts: [] }]).status).toBe(0);
  });

  test('an unhealthy target fires its own group\'s alarm only', () => {
    const series = [health('web', '127.0.0.1:9001', 'unhealthy', 1), health('web', '127.0.0.1:9002', 'unhealthy', 0), health('api', '127.0.0.1:9003', 'unhealthy', 0), health('api', '127.0.0.1:9003', 'healthy', 1)];
    const result = promtool(series, [
      { eval_time: '5m', alertname: 'Albatross-web-UnhealthyHosts', exp_alerts: firing('Albatross-web-UnhealthyHosts') },
      { eval_time: '5m', alertname: 'Albatross-api-UnhealthyHosts', exp_alerts: [] },
    ]);
    expect(result).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});
