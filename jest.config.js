/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is done once, by test/project/typecheck.test.ts; jest only transpiles (fast, per file).
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testTimeout: 30000,
  // One worker per core. jest's default leaves one core for its main process, which on a 2-core
  // machine means one worker: the suites ran one after another, the second core idle whenever a
  // suite waited on sockets or child processes, as most of the slow ones do. More workers than
  // cores were tried: 125 s once, then 28 timing failures in the next run, so not used.
  maxWorkers: '100%',
  // One directory per run, shared by the worker processes (dist/ built once, templates synthesized once).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // jest's summary, then one plain closing line that any CI log reader understands.
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.js'],
};
