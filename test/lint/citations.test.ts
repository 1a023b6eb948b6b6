/**
 * Code and docs cite only what a clone has: every `docs/….md`, `lib/….ts` (and the other source
 * folders) path named in a comment or a doc exists (the lint test's made-up `…/fixture.ts` aside), every `docs/alb-behaviour.md §N` names a
 * section that is there, and nothing points outside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.md', '*.mjs', 'Dockerfile', '*.yaml', '.ci/*'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && existsSync(join(ROOT, f)));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

test('no file points at a path outside the repository', () => {
  const outside = /\.\.\/shared\/|\/work\/|drain-notes\.md/;
  expect(tracked.filter((f) => f !== 'test/lint/citations.test.ts' && outside.test(read(f)))).toEqual([]);
});

test('every repository path a file names exists', () => {
  const cited = /(?<![\w./-])((?:docs|lib|bin|lambda|constructs|test|bench)\/[\w./-]+\.(?:md|ts))/g;
  const missing = tracked.flatMap((f) => [...read(f).matchAll(cited)].map((m) => m[1]).filter((path) => !path.endsWith('/fixture.ts') && !existsSync(join(ROOT, path))).map((path) => `${f}: ${path}`));
  expect(missing).toEqual([]);
});

test('every section of docs/alb-behaviour.md that code, tests or docs cite is there', () => {
  const sections = new Set([...read('docs/alb-behaviour.md').matchAll(/^(\d+)\. \*\*/gm)].map((m) => Number(m[1])));
  expect(sections.size).toBeGreaterThanOrEqual(20);
  // A citation may wrap onto the next comment line (`…alb-behaviour.md\n * §13`).
  const citation = /alb-behaviour\.md(?:\]\(alb-behaviour\.md\))?\s+(?:\*\s+)?(§[\d§–, ]+)/g;
  const cited = tracked.flatMap((f) =>
    [...read(f).matchAll(citation)].flatMap((m) =>
      m[1].split(/,\s*/).filter((part) => part.trim() !== '').flatMap((part) => {
        const [from, to = from] = part.replace(/§/g, '').split('–').map(Number);
        return Array.from({ length: to - from + 1 }, (_, i) => ({ file: f, section: from + i }));
      }),
    ),
  );
  expect(cited.length).toBeGreaterThan(10);
  expect(cited.filter((c) => !sections.has(c.section))).toEqual([]);
});
