/** `npm run typecheck` (tsc --strict, no emit) passes: a suite of its own, see test/support/npm-run.ts. */
import { npmRunPasses, STATIC_CHECK_TIMEOUT_MS } from '../support/npm-run';

test('npm run typecheck passes', () => npmRunPasses('typecheck'), STATIC_CHECK_TIMEOUT_MS);
