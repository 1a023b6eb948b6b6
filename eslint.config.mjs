import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// Import boundaries between the deliverables (README, "Layout"). test/lint/boundaries.test.ts
// lints forbidden imports with this file and fails if a rule stops firing.
//
// Relative paths are matched as written, so each rule assumes the folder is flat (files one
// level below lib/, bin/ or lambda/, as today): a sub-folder gets flagged until it is listed here.
const CDK_PACKAGES = {
  regex: '^(aws-cdk-lib|aws-cdk|constructs|cdk-nag)(/|$)',
  message: 'the CDK is needed only to synth: the proxy, the drain and their tools run without it (README, Layout).',
};
const alternatives = (folders) => `(${folders.join('|')})`;
/** From a file in lib/<folder>/: relative imports may land only in these folders of lib/. */
const libFolders = (allowed) => ({
  regex: `^\\.\\./(?!${alternatives(allowed)}/)|^\\.\\./\\.\\./`,
  message: `may import only from lib/${allowed.join(', lib/')} (README, Layout).`,
});
/** From a file in lib/<folder>/<sub>/: `../` is the folder itself; `../../` may land only in these folders of lib/. */
const nestedLibFolders = (allowed) => ({
  regex: `^\\.\\./\\.\\./(?!${alternatives(allowed)}/)|^\\.\\./\\.\\./\\.\\./`,
  message: `may import only from lib/${allowed.join(', lib/')} (README, Layout).`,
});
/** From a file in bin/ or lambda/: relative imports may land only in these folders of lib/ (and, if allowed, its own folder). */
const topFolders = (allowed, { ownFolder = false } = {}) => ({
  regex: `^\\.\\./(?!lib/${alternatives(allowed)}/)|^\\.\\./\\.\\./${ownFolder ? '' : '|^\\./'}`,
  message: `may import only from lib/${allowed.join(', lib/')} (README, Layout).`,
});
/** Shared vocabulary: nothing of ours outside its own folder. */
const OWN_FOLDER_ONLY = { regex: '^\\.\\.(/|$)', message: 'shared vocabulary imports nothing of ours outside its own folder (README, Layout).' };
/** lib/alb is plain data and functions: Node built-ins only, no packages. */
const BUILT_INS_ONLY = { regex: '^(?!node:|\\.)', message: 'lib/alb depends on nothing but Node built-ins (README, Layout).' };
/** The CDK app reads nothing of the proxy's side: the proxy reads the template the app writes. */
const NOT_PROXY_SIDE = { regex: '(^|/)(proxy|conformance|alerts|bin|lambda)(/|$)', message: 'the CDK app does not import the proxy, its tools or the entry points (README, Layout).' };

/** The same patterns for `import('…')` with a literal, which no-restricted-imports does not see (require() is already an error). */
const dynamicImports = (patterns) => patterns.map(({ regex, message }) => ({ selector: `ImportExpression > Literal[value=/${regex.replaceAll('/', '\\/')}/]`, message }));
const boundary = (files, ...patterns) => ({
  files,
  rules: {
    // The typescript-eslint variant also sees `import x = require('…')`.
    '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
    'no-restricted-syntax': ['error', ...dynamicImports(patterns)],
  },
});
const VOCABULARY = ['alb', 'util'];
const boundaries = [
  boundary(['lib/alb/**/*.ts'], CDK_PACKAGES, OWN_FOLDER_ONLY, BUILT_INS_ONLY),
  boundary(['lib/util/**/*.ts', 'lib/waf/**/*.ts'], CDK_PACKAGES, OWN_FOLDER_ONLY),
  boundary(['lib/proxy/**/*.ts'], CDK_PACKAGES, libFolders(['proxy', ...VOCABULARY, 'waf'])),
  // The proxy's web ACL (lib/proxy/waf/): the proxy's own files are one level up.
  boundary(['lib/proxy/waf/**/*.ts'], CDK_PACKAGES, nestedLibFolders(['proxy', ...VOCABULARY, 'waf'])),
  boundary(['lib/drain/**/*.ts'], CDK_PACKAGES, libFolders(['drain', ...VOCABULARY])),
  boundary(['lib/conformance/**/*.ts'], CDK_PACKAGES, libFolders(['conformance', 'proxy', ...VOCABULARY])),
  boundary(['lib/alerts/**/*.ts'], CDK_PACKAGES, libFolders(['alerts', 'proxy', ...VOCABULARY])),
  boundary(['bin/proxy.ts', 'bin/compose.ts'], CDK_PACKAGES, topFolders(['proxy', ...VOCABULARY, 'waf'])),
  boundary(['bin/drain.ts'], CDK_PACKAGES, topFolders(['drain', ...VOCABULARY])),
  boundary(['lambda/**/*.ts'], CDK_PACKAGES, topFolders(['drain', ...VOCABULARY], { ownFolder: true })),
  boundary(['bin/conformance.ts', 'bin/demo.ts'], CDK_PACKAGES, topFolders(['conformance', 'proxy', ...VOCABULARY])),
  boundary(['bin/alert-rules.ts'], CDK_PACKAGES, topFolders(['alerts', 'proxy', ...VOCABULARY])),
  boundary(['bin/sample-app.ts'], CDK_PACKAGES, topFolders(VOCABULARY)),
  boundary(['lib/config/**/*.ts', 'lib/stacks/**/*.ts', 'lib/nag/**/*.ts', 'lib/app.ts', 'constructs/**/*.ts', 'bin/albatross.ts'], NOT_PROXY_SIDE),
];
// --------------------------------------------------------------------------------------------- end of import boundaries

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '**/*.js', '**/*.mjs', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...boundaries,
);
