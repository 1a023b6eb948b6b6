/**
 * The constructs take their own props, so they can be reused without Albatross's configuration
 * (the stack maps the configuration onto them, in lib/stacks/construct-props.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const constructsDir = join(__dirname, '..', '..', 'constructs');

/** Every module specifier a file imports or re-exports from. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(constructsDir, file), 'utf8');
  return [...source.matchAll(/(?:import|export)\s[^;]*?from\s+'([^']+)'|require\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]);
}

const files = readdirSync(constructsDir).filter((f) => f.endsWith('.ts'));

test('there are constructs to check', () => {
  expect(files.length).toBeGreaterThanOrEqual(10);
});

test.each(files)('%s imports nothing from lib/config', (file) => {
  const imports = importsOf(file);
  expect(imports.length).toBeGreaterThan(0);
  expect(imports.filter((specifier) => /(^|\/)lib\/config(\/|$)/.test(specifier))).toEqual([]);
});
