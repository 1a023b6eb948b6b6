import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addAlbatrossStack } from '../../lib/app';
import { AlbatrossConfig, buildConfig, ConfigOverrides } from '../../lib/config';
import { AlbatrossStack } from '../../lib/stacks/albatross-stack';

/** The context of cdk.json (feature flags, the config), so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** The placeholder certificate ARN of cdk.json: valid for the default account and region. */
export const TEST_CERTIFICATE_ARN = (cdkJsonContext().albatross as { certificateArn: string }).certificateArn;

/**
 * A fresh app with cdk.json's context that skips asset bundling (tests assert on templates).
 *
 * It also skips CDK's built-in CloudFormation validation, which only reports (its findings never
 * fail synth by default) and costs about 8 CPU seconds per synth, most of a test synth. One test
 * runs it on the stacks and asserts its report (test/lib/stacks/cfn-validate.test.ts).
 */
export function testApp(extraContext: Record<string, unknown> = {}): App {
  return new App({ ...WITHOUT_BUILTIN_VALIDATION, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...extraContext } });
}

/** App props for test apps that assert on templates, not on CDK's built-in validation report (see `testApp`). */
export const WITHOUT_BUILTIN_VALIDATION = { builtinCloudFormationValidation: false } as const;

/** Synthesizes the stack from a partial config, offline. */
export function synthStack(partial: ConfigOverrides = {}): { app: App; stack: AlbatrossStack; template: Template; config: AlbatrossConfig } {
  const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, ...partial });
  const app = testApp();
  const stack = addAlbatrossStack(app, config);
  return { app, stack, template: Template.fromStack(stack), config };
}

