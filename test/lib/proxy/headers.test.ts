import { newTraceRoot } from '../../../lib/proxy/headers';

/** The random part of ids comes from blocks of 4096 (headers.ts): more ids than that cross a refill. */
const MORE_THAN_A_BLOCK = 10_000;

describe('trace ids', () => {
  test('the random part is 24 hex characters and never repeats, across block refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < MORE_THAN_A_BLOCK; i++) {
      const id = newTraceRoot();
      expect(id).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      seen.add(id.slice(-24));
    }
    expect(seen.size).toBe(MORE_THAN_A_BLOCK);
  });

  test('the epoch field follows the clock from one second to the next, zero-padded', () => {
    expect(newTraceRoot(1_000_999).slice(7, 15)).toBe('000003e8');
    expect(newTraceRoot(1_001_000).slice(7, 15)).toBe('000003e9');
    expect(newTraceRoot(1_764_633_600_123).slice(7, 15)).toBe((1_764_633_600).toString(16));
    // Back to an earlier second: the cached field must not stick.
    expect(newTraceRoot(1_000_000).slice(7, 15)).toBe('000003e8');
  });
});
