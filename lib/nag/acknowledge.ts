import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Accepts a cdk-nag AwsSolutions finding on a construct and its children, with the reason a
 * reviewer can check. `rule` is the rule id with the finding where the rule reports several:
 * `S1`, `IAM5[Resource::*]`.
 */
export function acknowledgeNag(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
}

/** Accepts a CDK construct annotation (warning) with a reason. */
export function acknowledgeAnnotation(scope: IConstruct, annotation: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `Annotation::${annotation}`, reason });
}
