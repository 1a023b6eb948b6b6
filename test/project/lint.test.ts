/** `npm run lint` (eslint on the whole repository) passes: a suite of its own, see test/support/npm-run.ts. */
import { npmRunPasses, STATIC_CHECK_TIMEOUT_MS } from '../support/npm-run';

test('npm run lint passes', () => npmRunPasses('lint'), STATIC_CHECK_TIMEOUT_MS);
