/**
 * bin/cdk-app.cjs, the app cdk.json runs, as a child process in a throwaway project: it runs the
 * compiled dist/ only while dist's stamp matches the sources, and the TypeScript sources otherwise.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..');
let project: string;

function write(file: string, text: string): void {
  mkdirSync(join(project, file, '..'), { recursive: true });
  writeFileSync(join(project, file), text);
}

function launcher(...args: string[]): string {
  const result = spawnSync(process.execPath, [join(project, 'bin', 'cdk-app.cjs'), ...args], { cwd: project, encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`cdk-app.cjs ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** What `npm run build` does around tsc; dist/ itself is written by hand here. */
function build(): void {
  launcher('--begin-stamp');
  write('dist/bin/albatross.js', "console.log('dist');\n");
  launcher('--commit-stamp');
}

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'albatross-cdk-app-'));
  mkdirSync(join(project, 'bin'));
  copyFileSync(join(repo, 'bin', 'cdk-app.cjs'), join(project, 'bin', 'cdk-app.cjs'));
  symlinkSync(join(repo, 'node_modules'), join(project, 'node_modules'), 'dir');
  write('package.json', '{"private": true}\n');
  write('tsconfig.json', '{}\n');
  write('lib/fixture.ts', 'export const answer: number = 42;\n');
  write('bin/albatross.ts', "import { answer } from '../lib/fixture';\nconsole.log(`sources ${answer}`);\n");
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

test('without a build it runs the TypeScript sources', () => {
  expect(launcher()).toBe('sources 42');
});

test('after a build it runs dist/, until a source changes; the same contents again run dist/ again', () => {
  build();
  expect(launcher()).toBe('dist');
  write('lib/fixture.ts', 'export const answer: number = 43;\n');
  expect(launcher()).toBe('sources 43');
  write('lib/fixture.ts', 'export const answer: number = 42;\n');
  expect(launcher()).toBe('dist');
});

test('an added source file or a changed tsconfig runs the sources', () => {
  build();
  write('lambda/fixture.ts', 'export {};\n');
  expect(launcher()).toBe('sources 42');
  build();
  expect(launcher()).toBe('dist');
  write('tsconfig.json', '{"compilerOptions": {"target": "ES2022"}}\n');
  expect(launcher()).toBe('sources 42');
});

test('a build that did not finish (tsc failed after the stamp began) leaves no stamp that matches', () => {
  build();
  launcher('--begin-stamp');
  expect(launcher()).toBe('sources 42');
});
