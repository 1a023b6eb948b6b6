// Removes the run directory of test/support/global-setup.js.
const { rmSync } = require('node:fs');

module.exports = async function globalTeardown() {
  const dir = process.env.ALBATROSS_TEST_RUN_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
};
