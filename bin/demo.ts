#!/usr/bin/env node
/**
 * The local proxy demo (`npm run demo`, run after `npx cdk synth`): the conformance suite
 * (lib/conformance) against sample apps for the template's services (one per desired task) behind
 * the proxy on the synthesized template. Prints a PASS/FAIL line per behaviour and exits non-zero on
 * any failure.
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import { join } from 'node:path';
import { runSuite } from '../lib/conformance/run';
import { formatResult } from '../lib/conformance/suite';

const TEMPLATE = join(__dirname, '..', '..', 'cdk.out', 'Albatross.template.json');

runSuite({ templateFile: TEMPLATE, insecure: true, timeoutMs: 10_000, print: (line) => console.log(line), onResult: (r) => console.log(formatResult(r)) }).then(
  ({ passed, failed }) => {
    console.log(`\n${passed} passed, ${failed} failed`);
    console.log(failed === 0 ? 'Demo passed: the local load balancer behaves like the template says.' : `Demo failed: ${failed} check(s).`);
    process.exit(failed === 0 ? 0 : 1);
  },
  (error: Error) => {
    console.log(`FAIL  demo could not run — ${error.message}\n\n0 passed, 1 failed\nDemo failed: 1 check(s).`);
    process.exit(1);
  },
);
