import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EVERY_FEATURE, stackTemplate } from '../support/stack-template';

/**
 * An independent check of the synthesized template: cfn-lint knows the CloudFormation resource
 * specifications and AWS's own rules, which this project's assertions cannot.
 */
const REPO = join(__dirname, '..', '..');
const CONFIG_FILE = join(REPO, '.cfnlintrc.yaml');
const INSTALL_HINT = 'pip install cfn-lint';

interface LintMatch {
  Rule: { Id: string };
  Message: string;
  Filename: string;
  Location: { Path: (string | number)[] };
}

function cfnLintVersion(): string | undefined {
  const result = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The default config, and one that turns on every optional feature. */
function templates(dir: string): Record<string, string> {
  const files = { default: join(dir, 'default.template.json'), everything: join(dir, 'everything.template.json') };
  writeFileSync(files.default, JSON.stringify(stackTemplate()));
  writeFileSync(files.everything, JSON.stringify(stackTemplate(EVERY_FEATURE)));
  return files;
}

/**
 * Runs cfn-lint with JSON output; exit codes are a bit mask of the levels found, so read the output.
 * Asynchronous, so that the run with the config and the one without run side by side.
 */
function lint(files: string[], configFile?: string): Promise<LintMatch[]> {
  const args = ['--format', 'json', ...(configFile ? ['--config-file', configFile] : []), '--', ...files];
  return new Promise((resolve, reject) => {
    // cwd outside the repo: cfn-lint would otherwise pick up .cfnlintrc.yaml by itself.
    execFile('cfn-lint', args, { encoding: 'utf8', cwd: tmpdir(), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // A non-zero exit is how cfn-lint reports findings; only no output at all is a failure to run.
      if (stdout.trim() === '') return reject(new Error(`cfn-lint printed nothing (${error?.message ?? 'exit 0'}): ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as LintMatch[]);
      } catch (parseError) {
        reject(parseError as Error);
      }
    });
  });
}

function summary(matches: LintMatch[]): string[] {
  return matches.map((m) => `${m.Rule.Id} ${m.Location.Path.join('/')}: ${m.Message}`);
}

/** The rules .cfnlintrc.yaml ignores, each with the comment lines right above its entry. */
function ignoredRules(): { id: string; reason: string }[] {
  const text = readFileSync(CONFIG_FILE, 'utf8');
  const ids = (parse(text) as { ignore_checks: string[] }).ignore_checks;
  const lines = text.split('\n');
  return ids.map((id) => {
    const at = lines.findIndex((line) => line.trim() === `- ${id}`);
    const comments: string[] = [];
    for (let i = at - 1; i >= 0 && lines[i].trim().startsWith('#'); i--) comments.unshift(lines[i].trim().replace(/^#\s*/, ''));
    return { id, reason: comments.join(' ') };
  });
}

const version = cfnLintVersion();
const inCi = process.env.CI === 'true';

if (!version && !inCi) process.stderr.write(`cfn-lint not found, template lint skipped: ${INSTALL_HINT}\n`);

describe('cfn-lint is available where it must be', () => {
  (inCi ? test : test.skip)('in CI (CI=true) a missing cfn-lint fails the run', () => {
    if (!version) throw new Error(`cfn-lint is required in CI: ${INSTALL_HINT}`);
  });
});

(version ? describe : describe.skip)(`cfn-lint (${version ?? 'not installed'}) on the synthesized templates`, () => {
  let dir: string;
  let withConfig: Promise<LintMatch[]>;
  let withoutConfig: Promise<LintMatch[]>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'albatross-cfn-lint-'));
    const files = Object.values(templates(dir));
    // Both started now, awaited by their tests (a rejection is reported there, not as unhandled).
    withConfig = lint(files, CONFIG_FILE);
    withoutConfig = lint(files);
    for (const run of [withConfig, withoutConfig]) run.catch(() => undefined);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([withConfig, withoutConfig]);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  test('the default config and the everything-on config have no errors or warnings beyond the documented ignores', async () => {
    expect(summary(await withConfig)).toEqual([]);
  }, 300_000);

  test('every ignored rule has a written reason and still fires without the config (no stale ignores)', async () => {
    const ignored = ignoredRules();
    expect(ignored.length).toBeGreaterThan(0);
    for (const rule of ignored) expect([rule.id, rule.reason.length > 20]).toEqual([rule.id, true]);
    const raw = new Set((await withoutConfig).map((m) => m.Rule.Id));
    expect([...raw].sort()).toEqual(ignored.map((r) => r.id).sort());
  }, 300_000);
});
