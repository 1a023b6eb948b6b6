import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Stack } from 'aws-cdk-lib';
import { addAlbatrossStack } from '../../../lib/app';
import { buildConfig } from '../../../lib/config';
import { cdkJsonContext, TEST_CERTIFICATE_ARN, WITHOUT_BUILTIN_VALIDATION } from '../../support/stack';

interface PluginReport {
  conclusion: string;
  violations: { ruleName: string }[];
  suppressedViolations: { ruleName: string; reason: string; violatingConstructs: { constructPath: string }[] }[];
}

/** Synthesizes `build(app)` with AwsSolutionsChecks and returns the plugin report. */
function nagReport(build: (app: App) => void): PluginReport {
  const outdir = mkdtempSync(join(tmpdir(), 'albatross-nag-'));
  const app = new App({ ...WITHOUT_BUILTIN_VALIDATION, outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch {
    // A failed validation throws after writing the report, which is what we read.
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] };
  return report.pluginReports[0];
}

describe('cdk-nag AwsSolutions', () => {
  const report = nagReport((app) => addAlbatrossStack(app, buildConfig({ certificateArn: TEST_CERTIFICATE_ARN })));

  test('the stack has zero unacknowledged findings', () => {
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(report.conclusion).toBe('success');
  });

  test('every acknowledgement carries a written reason', () => {
    expect(report.suppressedViolations.length).toBeGreaterThan(0);
    for (const suppressed of report.suppressedViolations) {
      expect(suppressed.reason.length).toBeGreaterThan(40);
    }
  });

  test('only reviewed findings are acknowledged (a new one must be reviewed and added here)', () => {
    const acknowledged = report.suppressedViolations.map((s) => s.ruleName).sort();
    expect(acknowledged).toEqual(expect.arrayContaining([
      'AwsSolutions-EC23',
      'AwsSolutions-IAM5[Action::ecs:Submit*]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-S1',
      'AwsSolutions-SQS3', // the EventBridge target's dead-letter queue is itself a DLQ (reviewed with issue 9)
    ]));
    const reviewed = /^AwsSolutions-(EC23|S1|SQS3|IAM5\[.*\])$/;
    for (const rule of acknowledged) expect(rule).toMatch(reviewed);
  });

  test('the checks are live: an unacknowledged public bucket is a finding', () => {
    const bad = nagReport((app) => {
      const stack = new Stack(app, 'Bad', { env: { account: '123456789012', region: 'eu-west-1' } });
      new s3.Bucket(stack, 'Bucket');
      new ec2.SecurityGroup(stack, 'Sg', { vpc: new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'] }) });
    });
    expect(bad.conclusion).toBe('failure');
    expect(bad.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
