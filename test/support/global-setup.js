// A directory for this jest run, which its worker processes inherit through the environment:
// test/support/dist.ts builds dist/ once per run through it, and test/support/stack-template.ts
// shares synthesized templates between suites. globalTeardown removes it.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  process.env.ALBATROSS_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'albatross-jest-run-'));
};
