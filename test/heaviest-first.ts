// The order in which vitest hands test files to its workers. Integration files run two at a time
// (vitest.config.ts), so the longest ones must start first or one of them ends the run alone; vitest
// orders by the durations it cached on an earlier run, and a clean clone (CI) has none, so it fell
// back to file size, which put the 5-line crash.integration.ts (3.5 min) last. With these figures
// the two Debian-guest files never run side by side (three Debian boots at once on 2 cores).
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds each long integration file took in a two-worker run (2026-12-04, 2-core TCG host). */
const MEASURED_S: Record<string, number> = {
  'test/integration/guests.integration.ts': 252, // Debian guests
  'test/integration/crash.integration.ts': 209,
  'test/integration/instant-fallback.integration.ts': 126,
  'test/integration/networks.integration.ts': 124,
  'test/integration/ansible-debian.integration.ts': 123, // a Debian guest: after guests.integration.ts
  'test/integration/boxes.integration.ts': 99,
  'test/integration/box-versions.integration.ts': 88,
  'test/integration/host-key.integration.ts': 66,
};

export class HeaviestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const weight = (f: TestSpecification) => MEASURED_S[relative(process.cwd(), f.moduleId)] ?? 0;
    // Stable: files without a figure keep vitest's own order, after the measured ones.
    return base
      .map((f, i) => ({ f, i }))
      .sort((a, b) => weight(b.f) - weight(a.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}
