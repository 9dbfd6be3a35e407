// The order in which vitest hands test files to its workers. Integration files run two at a time
// (vitest.config.ts), so the longest ones must start first or one of them ends the run alone; vitest
// orders by the durations it cached on an earlier run, and a clean clone (CI) has none, so it fell
// back to file size, which put the 5-line crash.integration.ts (3.5 min) last.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each long file took in a two-worker CI run (2026-12-04, 2-core TCG host). The two
 * longest start together; the rest fill in behind them.
 */
const MEASURED_S: Record<string, number> = {
  'test/integration/guests.integration.ts': 396, // Debian guests (and Debian's Ansible run since)
  'test/integration/crash.integration.ts': 394,
  'test/integration/instant-fallback.integration.ts': 139,
  'test/integration/networks.integration.ts': 139,
  'test/integration/box-versions.integration.ts': 97,
  'test/integration/host-key.integration.ts': 93,
  'test/integration/boxes.integration.ts': 85,
  // The libvirt files (one worker then): they start two at a time now as well.
  'test/integration/libvirt/cloud-init.integration.ts': 142, // one Debian machine, two boots (2026-12-05)
  'test/integration/libvirt/provision-sync.integration.ts': 66,
  'test/integration/libvirt/ownership.integration.ts': 61,
  'test/integration/libvirt/drift.integration.ts': 56,
  'test/integration/libvirt/box-versions.integration.ts': 40,
  'test/integration/libvirt/lifecycle.integration.ts': 40,
  'test/integration/libvirt/live-shares.integration.ts': 39,
  'test/integration/libvirt/remote-lifecycle.integration.ts': 39,
  'test/integration/libvirt/remote.integration.ts': 5,
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
