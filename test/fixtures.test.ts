// The one rule for real-data suites: skip without ../shared locally, fail under CI.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { haveFixtures } from './helpers/fixtures.ts';

describe('haveFixtures', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('is true when the fixtures are there, skips with a message when not, and throws under CI', async () => {
    expect(haveFixtures('present')).toBe(true);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.stubEnv('CI', '');
    vi.resetModules();
    const local = await import('./helpers/fixtures.ts');
    expect(local.haveFixtures('suite x', 'no-such-fixture')).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/suite x: .*no-such-fixture.*skipped/));
    warn.mockRestore();
    vi.stubEnv('CI', 'true');
    vi.resetModules();
    const ci = await import('./helpers/fixtures.ts');
    expect(() => ci.haveFixtures('suite x', 'no-such-fixture')).toThrow(/CI is set, so this fails instead of skipping/);
  });
});
