/**
 * CDK's built-in CloudFormation validation (aws-cdk-lib runs it on every `cdk synth`) on the
 * default stack and on one with every optional feature. Its findings are warnings that never fail
 * synth, so this test is where they count: the report must list none that CDK has not acknowledged.
 * Every other test app skips it for speed (test/support/stack.ts, `testApp`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addAlbatrossStack } from '../../../lib/app';
import { buildConfig, ConfigOverrides } from '../../../lib/config';
import { cdkJsonContext, TEST_CERTIFICATE_ARN } from '../../support/stack';
import { EVERY_FEATURE } from '../../support/stack-template';

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string; description: string }[] }[];
}

const PLUGIN = 'CloudFormation Validate';

/** Synthesizes the stack with the built-in validation on (as `cdk synth` does) and returns its report. */
function builtinValidation(partial: ConfigOverrides): ValidationReport['pluginReports'][number] | undefined {
  const outdir = mkdtempSync(join(tmpdir(), 'albatross-cfn-validate-'));
  try {
    const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    addAlbatrossStack(app, buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, ...partial }));
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    return report.pluginReports.find((r) => r.pluginName === PLUGIN);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe.each([
  ['the default stack', {}],
  ['the stack with every optional feature', EVERY_FEATURE],
])("CDK's built-in CloudFormation validation of %s", (_name, partial) => {
  test('runs, and reports no unacknowledged finding', () => {
    const report = builtinValidation(partial);
    expect(report).toBeDefined();
    expect(report!.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(report!.conclusion).toBe('success');
  }, 60_000);
});
