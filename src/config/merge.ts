// Deep merge of two mappings (cloud-init user-data: `defaults.cloud_init` under a machine's, and
// the Boxfile's under boxfest's own): lists are concatenated (the first one's items first),
// mappings merged key by key, anything else taken from the second. Pure.

export function mergeMappings(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const mine = out[k];
    if (Array.isArray(mine) && Array.isArray(v)) out[k] = [...(mine as unknown[]), ...(v as unknown[])];
    else if (isMapping(mine) && isMapping(v)) out[k] = mergeMappings(mine, v);
    else out[k] = v;
  }
  return out;
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
