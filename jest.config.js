const { availableParallelism } = require('node:os');

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
  // One and a half workers per core: suites spend much of their time waiting on sockets, child
  // processes and timers (with two workers the run used 128 CPU seconds in 95 s on two cores, so the
  // cores idled a third of the time), and a third worker fills the gaps. Measured on the idle 2-core
  // machine: 95 s with two workers, 83 s and 79 s with three; with three, 99 s and no failure beside
  // a busy-looping process. A count, not the string '150%': this jest reads a percentage above 100
  // as a plain number of workers (it started 150 of them).
  maxWorkers: Math.max(1, Math.round(availableParallelism() * 1.5)),
  // One directory per run, shared by the worker processes (dist/ built once, templates synthesized once).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // jest's summary, then one plain closing line that any CI log reader understands.
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.js'],
};
