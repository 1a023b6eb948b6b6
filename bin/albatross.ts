#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addAlbatrossStack } from '../lib/app';
import { ConfigError, loadConfig } from '../lib/config';

const app = new App();
try {
  addAlbatrossStack(app, loadConfig(app.node, Object.keys(app.node.getAllContext() as object)));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
