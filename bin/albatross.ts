#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config';
import { AlbatrossStack } from '../lib/stacks/albatross-stack';

const app = new App();
try {
  const config = loadConfig(app.node, Object.keys(app.node.getAllContext() as object));
  // The config names the AZs; seeding the lookup context with them keeps synth offline.
  app.node.setContext(`availability-zones:account=${config.env.account}:region=${config.env.region}`, config.env.availabilityZones);
  new AlbatrossStack(app, config.stackName, {
    config,
    env: { account: config.env.account, region: config.env.region },
    description: 'Albatross: load-balanced ECS-on-EC2 service behind an ALB and WAF',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
