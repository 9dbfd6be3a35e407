/**
 * Example directories (under examples/) that use settings the QEMU provider does not implement
 * yet: valid Boxfiles, but `boxfest validate` refuses them with the real capabilities. Shrinks as
 * QEMU learns them. A plain module, so other test files can import it without re-running tests.
 */
export const EXAMPLES_BEYOND_QEMU: readonly string[] = [];
