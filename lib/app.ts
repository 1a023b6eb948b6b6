import { App } from 'aws-cdk-lib';
import { AlbatrossConfig } from './config';
import { AlbatrossStack } from './stacks/albatross-stack';

/**
 * Adds the Albatross stack for `config` to `app`. Must run before anything else is added to the app.
 *
 * The config names the AZs, and seeding CDK's lookup context with them keeps synth offline: CDK
 * would otherwise ask EC2 for the region's zones to check them.
 */
export function addAlbatrossStack(app: App, config: AlbatrossConfig): AlbatrossStack {
  const { account, region, availabilityZones } = config.env;
  app.node.setContext(`availability-zones:account=${account}:region=${region}`, availabilityZones);
  return new AlbatrossStack(app, config.stackName, {
    config,
    env: { account, region },
    description: 'Albatross: load-balanced ECS-on-EC2 service behind an ALB and WAF',
  });
}
