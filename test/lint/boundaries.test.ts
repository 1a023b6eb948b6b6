/**
 * The import boundaries of eslint.config.mjs (README, Layout), proven to fire: each case is linted
 * as if it were a file at that path, with the project's own config and ESLint's Node API (in a
 * child process: the config is an ES module, which jest's CommonJS runtime cannot import).
 * A deleted or loosened rule turns a "forbidden" case green-lit and fails here.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BOUNDARY_RULES = ['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax'];

interface Case {
  readonly file: string;
  readonly source: string;
  readonly forbidden: boolean;
}

const forbid = (file: string, ...sources: string[]): Case[] => sources.map((source) => ({ file, source, forbidden: true }));
const allow = (file: string, ...sources: string[]): Case[] => sources.map((source) => ({ file, source, forbidden: false }));

const CASES: Case[] = [
  ...forbid('lib/proxy/fixture.ts', 'aws-cdk-lib', 'aws-cdk-lib/aws-elasticloadbalancingv2', 'constructs', 'cdk-nag', '../drain/signals', '../config', '../config/schema', '../stacks/albatross-stack', '../nag/acknowledge', '../../constructs/service-target-group', '../../lambda/drain-handler', '../../bin/drain'),
  ...forbid('lib/proxy/waf/fixture.ts', 'aws-cdk-lib', '../../drain/signals', '../../config', '../../../constructs/rate-limited-web-acl', '../../../bin/drain'),
  ...allow('lib/proxy/waf/fixture.ts', './model', '../contracts', '../../waf/content-length', '../../alb/target-id', '../../util/net'),
  ...allow('lib/proxy/fixture.ts', '../alb/target-id', '../util/net', '../waf/content-length', './model', 'pino', 'node:http'),
  ...forbid('lib/drain/fixture.ts', 'aws-cdk-lib/aws-ec2', 'constructs', '../proxy/model', '../config', '../conformance/suite', '../../constructs/drain-orchestrator'),
  ...allow('lib/drain/fixture.ts', '../alb/targets-report', '../util/admin-token', './engine', '@aws-sdk/client-ecs'),
  ...forbid('lambda/fixture.ts', 'aws-cdk-lib', '../lib/proxy/model', '../lib/config', '../constructs/drain-orchestrator'),
  ...allow('lambda/fixture.ts', '../lib/drain/lifecycle', '../lib/alb/tags', '@aws-lambda-powertools/logger'),
  ...forbid('bin/proxy.ts', 'aws-cdk-lib', 'cdk-nag', '../lib/drain/signals', '../lib/config', './drain', '../constructs/secure-load-balancer'),
  ...allow('bin/proxy.ts', '../lib/proxy/server', '../lib/alb/target-id', '../lib/util/net', 'commander'),
  ...forbid('bin/compose.ts', 'aws-cdk-lib', '../lib/config', '../lib/drain/engine', './proxy'),
  ...allow('bin/compose.ts', '../lib/proxy/compose', '../lib/util/supported-node', 'commander'),
  ...forbid('bin/drain.ts', 'aws-cdk-lib', '../lib/proxy/model', '../lib/stacks/albatross-stack', './proxy'),
  ...allow('bin/drain.ts', '../lib/drain/engine', '../lib/alb/targets-report', '@aws-sdk/client-auto-scaling'),
  ...forbid('lib/alb/fixture.ts', 'aws-cdk-lib', '../proxy/model', '../util/net', '../config', 'pino'),
  ...allow('lib/alb/fixture.ts', './tags', 'node:net'),
  ...forbid('lib/util/fixture.ts', 'constructs', '../alb/tags', '../proxy/model'),
  ...forbid('lib/conformance/fixture.ts', 'aws-cdk-lib', '../drain/engine', '../config'),
  ...allow('lib/conformance/fixture.ts', '../proxy/template', '../alb/targets-report'),
  ...forbid('lib/alerts/fixture.ts', 'aws-cdk-lib', '../drain/engine'),
  ...allow('lib/alerts/fixture.ts', '../proxy/template'),
  ...forbid('constructs/fixture.ts', '../lib/proxy/template', '../bin/proxy', '../lambda/drain-handler'),
  ...allow('constructs/fixture.ts', 'aws-cdk-lib', 'constructs', '../lib/alb/tags', '../lib/drain/budget', '../lib/config'),
  ...forbid('lib/config/fixture.ts', '../proxy/model'),
  ...allow('lib/config/fixture.ts', 'aws-cdk-lib/aws-elasticloadbalancingv2', '../alb/routing-algorithms', '../waf/content-length'),
];

const STATEMENTS: [string, (source: string) => string][] = [
  ['import', (s) => `import { x } from '${s}';\nexport const y = x;\n`],
  ['type import', (s) => `import type { X } from '${s}';\nexport type Y = X;\n`],
  ['re-export', (s) => `export { x } from '${s}';\n`],
  ['dynamic import', (s) => `export const load = () => import('${s}');\n`],
];

/** Lints every snippet in one ESLint run; returns, per snippet, the boundary rules that fired. */
function lintSnippets(snippets: { file: string; code: string }[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const snippets = JSON.parse(await new Promise((resolve) => { let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => resolve(s)); }));
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const { file, code } of snippets) {
      const [result] = await eslint.lintText(code, { filePath: file });
      out.push(result.messages.map((m) => m.ruleId ?? m.message));
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, input: JSON.stringify(snippets), encoding: 'utf8', timeout: 90_000 });
  if (run.status !== 0) throw new Error(`eslint run failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

const snippets = CASES.flatMap((c) => STATEMENTS.map(([kind, write]) => ({ ...c, kind, code: write(c.source) })));
let fired: string[][];

beforeAll(() => {
  fired = lintSnippets(snippets);
}, 120_000);

test('every forbidden import is an error, whichever way it is written, and every allowed one passes', () => {
  const wrong = snippets
    .map((s, i) => ({ ...s, rules: fired[i] }))
    .filter((s) => s.rules.some((r) => BOUNDARY_RULES.includes(r)) !== s.forbidden)
    .map((s) => `${s.file}: ${s.kind} of ${s.source} should ${s.forbidden ? 'fail' : 'pass'} (fired: ${s.rules.join(', ') || 'nothing'})`);
  expect(wrong).toEqual([]);
});

test('the snippets lint clean apart from the boundary rules (a syntax slip cannot pass for a boundary error)', () => {
  const other = snippets.flatMap((s, i) => fired[i].filter((r) => !BOUNDARY_RULES.includes(r)).map((r) => `${s.file} ${s.kind} ${s.source}: ${r}`));
  expect(other).toEqual([]);
});
