#!/usr/bin/env node
/**
 * compose.yaml from the synthesized template's services (lib/proxy/compose.ts):
 *   npx cdk synth && npm run compose            # writes compose.yaml
 *   npm run compose -- --check                  # exit 1 when compose.yaml is not what the template gives
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { composeFromTemplate } from '../lib/proxy/compose';
import { TemplateError } from '../lib/proxy/template';

interface ComposeOptions {
  template: string;
  out: string;
  check: boolean;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TemplateError(`${path}: cannot be read as JSON (${reason}); run \`npx cdk synth\` first`);
  }
}

const program = new Command('compose')
  .description("Write compose.yaml from the synthesized template: one sample app per desired task of each service, the local proxy over them by service (--targets <service>=…), Prometheus with the template's alarms.")
  .option('--template <file>', 'synthesized template', 'cdk.out/Albatross.template.json')
  .option('--out <file>', 'compose file to write', 'compose.yaml')
  .option('--check', 'write nothing; exit 1 when the compose file differs from what the template gives', false)
  .action((options: ComposeOptions) => {
    const text = composeFromTemplate(readJson(options.template), options.template);
    if (!options.check) {
      writeFileSync(options.out, text);
      return void process.stderr.write(`${options.out} written from ${options.template}\n`);
    }
    let current = '';
    try {
      current = readFileSync(options.out, 'utf8');
    } catch {
      // absent: differs
    }
    if (current !== text) throw new Error(`${options.out} is not what ${options.template} gives; run \`npm run compose\``);
    process.stderr.write(`${options.out} is up to date with ${options.template}\n`);
  });

try {
  program.parse();
} catch (error) {
  process.stderr.write(`compose: ${(error as Error).message}\n`);
  process.exit(1);
}
