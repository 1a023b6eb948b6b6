#!/usr/bin/env node
/**
 * Prometheus alerting rules from the synthesized template's CloudWatch alarms, for the local proxy:
 *   npm run alert-rules -- --template cdk.out/Albatross.template.json --out alert-rules.yaml
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { alertRulesFromTemplate, formatRuleFile } from '../lib/alerts/prometheus-rules';

interface AlertRulesOptions {
  template: string;
  out?: string;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

const program = new Command('alert-rules')
  .description("Write Prometheus alerting rules for the template's CloudWatch alarms, on the local proxy's /metrics. Alarms the proxy has no metric for are listed on stderr and in the file's header.")
  .option('--template <file>', 'synthesized template', 'cdk.out/Albatross.template.json')
  .option('--out <file>', 'rule file to write (default: standard output)')
  .action((options: AlertRulesOptions) => {
    const result = alertRulesFromTemplate(readJson(options.template), options.template);
    const text = formatRuleFile(result, options.template);
    if (options.out) writeFileSync(options.out, text);
    else process.stdout.write(text);
    for (const u of result.notReproducible) process.stderr.write(`not reproducible locally: ${u.alarm}: ${u.reason}\n`);
    if (options.out) process.stderr.write(`${result.rules.length} rules written to ${options.out}\n`);
  });

try {
  program.parse();
} catch (error) {
  process.stderr.write(`alert-rules: ${(error as Error).message}\n`);
  process.exit(1);
}
