// Semantic rules: what the schema cannot check. Each rule is a function over one context that
// reports issues at the position where the offending value is written; every rule runs, and
// the issues come back deduplicated (a value in `defaults` is seen once per machine) and sorted.

import type { ConfigIssue } from '../../errors.js';
import { CAPABILITIES } from '../../providers/capabilities.js';
import type { Capabilities } from '../../providers/capabilities.js';
import { sortIssues } from '../issues.js';
import type { LoadResult } from '../load.js';
import type { Environment } from '../types.js';
import { ruleContext } from './context.js';
import type { FsCheck, Rule } from './context.js';
import { boxes, boxVersions, machineNames, primary, profiles, sizes } from './machines.js';
import { attachments, forwardedPorts, networkDefinitions } from './networks.js';
import { privateKeys, provisioners, sshUsers, syncedFolders, triggers } from './paths.js';
import { libvirtUri, providerCapabilities } from './provider.js';
import { cloudInitKeys, dataDisks } from './cloud-init.js';

export const RULES: readonly Rule[] = [
  machineNames,
  boxes,
  boxVersions,
  profiles,
  sizes,
  primary,
  networkDefinitions,
  attachments,
  forwardedPorts,
  syncedFolders,
  provisioners,
  triggers,
  privateKeys,
  cloudInitKeys,
  dataDisks,
  sshUsers,
  providerCapabilities,
  libvirtUri,
];

/**
 * Semantic rules on the resolved environment; positions come from the written file.
 * `capabilities` defaults to the real table of `env.provider`; tests pass their own.
 */
export function checkRules(
  env: Environment,
  load: LoadResult,
  fs: FsCheck,
  capabilities: Capabilities = CAPABILITIES[env.provider],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ctx = ruleContext(env, load, fs, capabilities, issues);
  for (const rule of RULES) rule(ctx);
  const unique = new Map(issues.map((i) => [`${i.path}\n${i.message}`, i]));
  return sortIssues([...unique.values()]);
}
