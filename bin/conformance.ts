#!/usr/bin/env node
/**
 * Checks that a load balancer behaves as the synthesized template says: the local proxy (default,
 * started for the run) or a deployed stack:
 *   npm run conformance -- --url https://albatross.example.com
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import { Command, InvalidArgumentError } from 'commander';
import { runSuite } from '../lib/conformance/run';
import { formatResult } from '../lib/conformance/suite';

interface ConformanceOptions {
  template: string;
  url?: string;
  httpUrl?: string;
  insecure?: boolean;
  timeout: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0) || n > 600) throw new InvalidArgumentError('must be a number of seconds above 0 and at most 600');
  return n;
}

const program = new Command('conformance')
  .description(
    'Check a load balancer against the synthesized template: redirect, TLS versions, security headers, rules, fixed responses, ' +
      'the web ACL body limit, stickiness and (locally) draining. Prints PASS/FAIL per behaviour and "N passed, N failed"; exits 1 on a failure, 2 when it cannot run.',
  )
  .option('--url <https-url>', "base URL of a deployed stack's HTTPS listener (its load balancer DNS name or domain); default: start the local proxy")
  .option('--http-url <http-url>', 'base URL of its HTTP listener (default: the host of --url on the template HTTP port)')
  .option('--insecure', 'accept any TLS certificate (e.g. the load balancer DNS name, which the certificate does not cover)')
  .option('--timeout <seconds>', 'bound of every connect and answer', seconds, 10)
  .option('--template <file>', 'synthesized template', 'cdk.out/Albatross.template.json')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program.parse();
const opts = program.opts<ConformanceOptions>();

runSuite({
  templateFile: opts.template,
  url: opts.url,
  httpUrl: opts.httpUrl,
  insecure: opts.insecure === true,
  timeoutMs: opts.timeout * 1000,
  print: (line) => console.log(line),
  onResult: (r) => console.log(formatResult(r)),
}).then(
  ({ passed, failed }) => {
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  },
  (error: Error) => {
    process.stderr.write(`conformance: ${error.message}\n`);
    process.exit(2);
  },
);
