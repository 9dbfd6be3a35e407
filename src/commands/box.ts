// `box add|list|outdated|update|prune|remove`: the box store from the command line.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { addBox, isUrl, readCatalog } from '../boxes/add.js';
import { parseChecksum } from '../boxes/checksum.js';
import { pickFromCatalog } from '../boxes/catalog.js';
import { httpOptions } from '../boxes/download.js';
import { createProgress, formatBytes, progressMode } from '../boxes/progress.js';
import {
  applyRemoval,
  boxNames,
  boxVersions,
  DISK_INTERFACES,
  entryImages,
  firstBootOf,
  readEntry,
  planPrune,
  removeBox,
  requirementsOf,
  STORE_PROVIDERS,
  usersOf,
  type Box,
  type DiskInterface,
  type RemovalPlan,
  type StoreProvider,
} from '../boxes/store.js';
import { checkBoxName } from '../boxes/name.js';
import { compareVersions, newestVersion } from '../boxes/version.js';
import { findBoxfile, readEnvironment } from '../config/index.js';
import { PROVIDER_NAMES, type ProviderName } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { listStates, listUnrestorable } from '../providers/qemu/instant.js';
import { readMachineState } from '../state/machine-state.js';
import { boxfestHome, boxPaths } from '../state/paths.js';
import { askYesNo, canAsk } from './confirm.js';
import type { CommandOptions } from './output.js';

export interface BoxAddOptions extends CommandOptions {
  name: string | undefined;
  boxVersion: string | undefined;
  checksum: string | undefined;
  checksumType: string | undefined;
  provider: string | undefined;
  caCert: string | undefined;
  sshUser: string | undefined;
  sshKey: string | undefined;
  /** `--cloud-init`; unset: a plain image without --ssh-key is looked into. */
  cloudInit: true | undefined;
  diskInterface: string | undefined;
  force: boolean;
}

function providerArg(p: string | undefined): ProviderName {
  if (p === undefined) return 'qemu';
  if (!(PROVIDER_NAMES as readonly string[]).includes(p))
    throw new BoxfestError('USAGE', `unknown provider \`${p}\``, {
      hint: `use one of: ${PROVIDER_NAMES.join(', ')}`,
    });
  return p as ProviderName;
}

/** The stored kind a provider's boxes are kept as (libvirt runs QEMU's qcow2 boxes). */
function storeKindArg(p: string): StoreProvider {
  const provider = providerArg(p);
  return provider === 'libvirt' ? 'qemu' : provider;
}

/** `box add SOURCE` or `box add NAME SOURCE` (the older form). */
export async function boxAdd(cwd: string, args: string[], o: BoxAddOptions): Promise<number> {
  const [first, second] = args;
  const sourceArg = second ?? first!;
  const name = second === undefined ? o.name : first;
  const source = isUrl(sourceArg) ? sourceArg : resolve(cwd, sourceArg);
  if (!isUrl(source) && !existsSync(source))
    throw new BoxfestError('BOX_SOURCE_MISSING', `no file at ${source}`, {
      hint: 'give the path of a .box file, a disk image or a catalog, or an http(s) URL',
    });
  if (o.diskInterface !== undefined && !(DISK_INTERFACES as readonly string[]).includes(o.diskInterface))
    throw new BoxfestError('BOX_DISK_INTERFACE', `unknown disk interface \`${o.diskInterface}\``, {
      hint: `use one of: ${DISK_INTERFACES.join(', ')}`,
    });
  const box = await addBox(boxfestHome(), {
    source,
    name,
    version: o.boxVersion,
    checksum: o.checksum === undefined ? undefined : parseChecksum(o.checksum, o.checksumType),
    provider: providerArg(o.provider),
    sshUser: o.sshUser,
    sshKey: o.sshKey === undefined ? undefined : resolve(cwd, o.sshKey),
    cloudInit: o.cloudInit,
    diskInterface: o.diskInterface as DiskInterface | undefined,
    force: o.force,
    http: httpOptions(process.env, o.caCert === undefined ? undefined : resolve(cwd, o.caCert)),
    progress: createProgress(progressMode(o.json)),
    note: o.note,
  });
  if (o.json) o.print(JSON.stringify(box, null, 2));
  else
    o.print(
      `box ${box.name} ${box.version} (${box.provider}) added: ${formatBytes(box.size)} ${box.format}, sha256 ${box.sha256.slice(0, 12)}…, user ${box.sshUser}${box.hasInsecureKey ? ' with its key' : ''}, ${box.diskInterface}, first boot: ${firstBootOf(box)}`,
    );
  return 0;
}

interface UserRow {
  project: string;
  machine: string;
}

/** One image of the store with the machines on it. */
async function rowOf(home: string, b: Box, current: boolean) {
  const users = usersOf(boxPaths(home, b.name, b.version, b.provider).dir, b.image).map((u): UserRow => ({
    project: u.project,
    machine: u.machine,
  }));
  const states = b.provider === 'qemu' && current ? await listStates(home, b) : [];
  const unrestorable = b.provider === 'qemu' && current ? listUnrestorable(home, b) : [];
  return { ...b, firstBoot: firstBootOf(b), current, users, states, unrestorable };
}

export async function boxList(o: CommandOptions): Promise<number> {
  const home = boxfestHome();
  const rows = [];
  for (const name of boxNames(home))
    for (const version of boxVersions(home, name))
      for (const k of STORE_PROVIDERS) {
        const current = readEntry(home, name, version, k);
        for (const img of entryImages(home, name, version, k))
          rows.push(await rowOf(home, img, current !== undefined && img.image === current.image));
      }
  if (o.json) {
    o.print(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    o.note('no boxes; add one with: boxfest box add FILE-OR-URL [--name NAME]');
    return 0;
  }
  for (const r of rows) {
    const used =
      r.users.length === 0
        ? ''
        : `  in use by ${r.users.map((u) => `${u.machine} (${u.project})`).join(', ')}`;
    const replaced = r.current ? '' : '  (replaced; kept for its machines)';
    o.print(
      `${r.name}  ${r.version}  ${r.provider}  ${r.format}  ${formatBytes(r.size)}  user ${r.sshUser}  ${r.diskInterface}  first boot: ${r.firstBoot}  from ${r.source}${replaced}${used}`,
    );
    for (const s of r.states)
      o.print(
        `  saved state ${s.key}: ${s.memory} MiB, ${s.cpus} cpu(s), ${s.nics} extra NIC(s), ${s.accel}, ${formatBytes(s.bytes)}${s.valid ? '' : '  (stale: written by another QEMU or box)'}`,
      );
    for (const u of r.unrestorable)
      o.print(
        `  no saved state ${u.key}: ${u.memory} MiB, ${u.cpus} cpu(s), ${u.nics} extra NIC(s), ${u.accel}: ${u.reason} (machines boot normally)`,
      );
  }
  return 0;
}

export async function boxRemove(
  name: string,
  o: CommandOptions & { force: boolean; boxVersion: string | undefined; provider: string | undefined },
): Promise<number> {
  const done = await removeBox(boxfestHome(), name, {
    version: o.boxVersion,
    provider: o.provider === undefined ? undefined : storeKindArg(o.provider),
    force: o.force,
  });
  printRemoval(done, o, 'removed');
  return 0;
}

function printRemoval(done: RemovalPlan, o: CommandOptions, verb: string): void {
  if (o.json) {
    o.print(
      JSON.stringify(
        {
          [verb]: done.remove.map((b) => ({
            name: b.name,
            version: b.version,
            provider: b.provider,
            sha256: b.sha256,
            size: b.size,
          })),
          kept: done.keep.map(({ box, users }) => ({
            name: box.name,
            version: box.version,
            provider: box.provider,
            sha256: box.sha256,
            users: users.map((u) => ({ project: u.project, machine: u.machine })),
          })),
        },
        null,
        2,
      ),
    );
    return;
  }
  if (done.remove.length === 0) o.print(`nothing ${verb}`);
  for (const b of done.remove)
    o.print(`${verb} ${b.name} ${b.version} (${b.provider}, ${formatBytes(b.size)})`);
  for (const { box, users } of done.keep)
    o.print(
      `kept ${box.name} ${box.version} (${box.provider}): in use by ${users.map((u) => u.machine).join(', ')}`,
    );
}

export async function boxPrune(o: CommandOptions & { force: boolean; dryRun: boolean }): Promise<number> {
  const home = boxfestHome();
  const plan = planPrune(home);
  if (o.dryRun || plan.remove.length === 0) {
    printRemoval(plan, o, o.dryRun ? 'would_remove' : 'removed');
    return 0;
  }
  if (!o.force) {
    const list = plan.remove.map((b) => `${b.name} ${b.version} (${b.provider})`).join(', ');
    if (!canAsk(o.json))
      throw new BoxfestError('BOX_PRUNE_CONFIRM', `prune would remove ${list}`, {
        hint: 'run it on a terminal to be asked, or pass --force (--dry-run shows what would go)',
      });
    if (!(await askYesNo(`Remove ${list}? [y/N] `))) {
      o.note('nothing removed');
      return 0;
    }
  }
  printRemoval(await applyRemoval(home, plan, 'prune boxes'), o, 'removed');
  return 0;
}

// --- outdated / update --------------------------------------------------------------------

interface Want {
  box: string;
  constraint: string | undefined;
  provider: ProviderName;
  /** box_url, when the Boxfile gives one. */
  url: string | undefined;
  machines: { name: string; version: string | undefined }[];
}

/** What the project's machines want (grouped by box and constraint), or undefined without a Boxfile. */
function projectWants(cwd: string): Want[] | undefined {
  try {
    findBoxfile(cwd);
  } catch {
    return undefined;
  }
  const env = readEnvironment(cwd);
  const wants = new Map<string, Want>();
  for (const m of env.machines) {
    const key = `${m.box}\0${m.boxVersion ?? ''}\0${m.provider}`;
    const w = wants.get(key) ?? {
      box: m.box,
      constraint: m.boxVersion,
      provider: m.provider,
      url: m.boxUrl,
      machines: [],
    };
    w.machines.push({ name: m.name, version: readMachineState(env.root, m.name)?.box.version });
    wants.set(key, w);
  }
  return [...wants.values()];
}

/** The catalog a box comes from: the Boxfile's box_url, else the one recorded when it was added. */
function catalogOf(home: string, name: string, url: string | undefined): string | undefined {
  if (url !== undefined) return url;
  return boxVersions(home, name)
    .flatMap((v) => STORE_PROVIDERS.flatMap((k) => entryImages(home, name, v, k).slice(0, 1)))
    .map((b) => b.catalog)
    .filter((c): c is string => c !== undefined)
    .at(-1);
}

interface OutdatedRow {
  box: string;
  machine?: string;
  /** The version the machine runs (unset: not created), or the newest stored one. */
  version: string | undefined;
  newest_stored: string | undefined;
  newest_available: string | undefined;
  catalog: string | undefined;
  outdated: boolean;
  error?: string;
}

async function newestInCatalog(
  url: string | undefined,
  constraint: string | undefined,
  provider: ProviderName,
): Promise<{ version?: string; error?: string }> {
  if (url === undefined) return {};
  try {
    const found = await readCatalog(url, httpOptions(process.env));
    if (found === undefined) return {};
    const choice = pickFromCatalog(found.catalog, requirementsOf(constraint), provider);
    return 'problem' in choice ? { error: choice.problem } : { version: choice.version };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export async function boxOutdated(cwd: string, o: CommandOptions & { global: boolean }): Promise<number> {
  const home = boxfestHome();
  const wants = o.global ? undefined : projectWants(cwd);
  const rows: OutdatedRow[] = [];
  if (wants !== undefined) {
    for (const w of wants) {
      const url = catalogOf(home, w.box, w.url);
      const stored = newestVersion(boxVersions(home, w.box), requirementsOf(w.constraint));
      const avail = await newestInCatalog(url, w.constraint, w.provider);
      for (const m of w.machines) {
        const mine = m.version ?? stored;
        rows.push({
          box: w.box,
          machine: m.name,
          version: m.version,
          newest_stored: stored,
          newest_available: avail.version,
          catalog: url,
          outdated:
            avail.version !== undefined && (mine === undefined || compareVersions(avail.version, mine) > 0),
          ...(avail.error === undefined ? {} : { error: avail.error }),
        });
      }
    }
  } else {
    for (const name of boxNames(home)) {
      const url = catalogOf(home, name, undefined);
      const stored = boxVersions(home, name).at(-1);
      const avail = await newestInCatalog(url, undefined, 'qemu');
      rows.push({
        box: name,
        version: stored,
        newest_stored: stored,
        newest_available: avail.version,
        catalog: url,
        outdated:
          avail.version !== undefined && stored !== undefined && compareVersions(avail.version, stored) > 0,
        ...(avail.error === undefined ? {} : { error: avail.error }),
      });
    }
  }
  if (o.json) o.print(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) o.note('no boxes');
  else
    for (const r of rows) {
      const who = r.machine === undefined ? r.box : `${r.machine} (${r.box})`;
      const runs =
        r.machine === undefined
          ? `newest stored ${r.version ?? '-'}`
          : r.version === undefined
            ? 'not created'
            : `runs ${r.version}`;
      const state =
        r.error !== undefined
          ? `cannot check: ${r.error}`
          : r.catalog === undefined
            ? 'no catalog to check (added from a file)'
            : r.outdated
              ? `outdated: ${r.newest_available} is available (\`boxfest box update ${r.box}\`)`
              : 'up to date';
      o.print(`${who}: ${runs}; ${state}`);
    }
  return 0;
}

export async function boxUpdate(
  cwd: string,
  name: string | undefined,
  o: CommandOptions & { provider: string | undefined; caCert: string | undefined },
): Promise<number> {
  const home = boxfestHome();
  if (name !== undefined) checkBoxName(name);
  const wants = projectWants(cwd) ?? [];
  const targets: {
    box: string;
    constraint: string | undefined;
    provider: ProviderName;
    url: string | undefined;
  }[] =
    name !== undefined
      ? wants.filter((w) => w.box === name).length > 0
        ? wants.filter((w) => w.box === name)
        : [{ box: name, constraint: undefined, provider: providerArg(o.provider), url: undefined }]
      : wants.length > 0
        ? wants
        : boxNames(home).map((b) => ({
            box: b,
            constraint: undefined,
            provider: providerArg(o.provider),
            url: undefined,
          }));
  const results: { box: string; version?: string; added: boolean; message: string }[] = [];
  for (const t of targets) {
    const url = catalogOf(home, t.box, t.url);
    if (url === undefined) {
      results.push({ box: t.box, added: false, message: 'no catalog to update from (added from a file)' });
      continue;
    }
    const found = await readCatalog(
      url,
      httpOptions(process.env, o.caCert === undefined ? undefined : resolve(cwd, o.caCert)),
    );
    if (found === undefined) {
      results.push({ box: t.box, added: false, message: `${url} is not a catalog` });
      continue;
    }
    const choice = pickFromCatalog(found.catalog, requirementsOf(t.constraint), t.provider);
    if ('problem' in choice) {
      results.push({ box: t.box, added: false, message: choice.problem });
      continue;
    }
    if (boxVersions(home, t.box).includes(choice.version)) {
      results.push({
        box: t.box,
        version: choice.version,
        added: false,
        message: `${choice.version} is the newest and already stored`,
      });
      continue;
    }
    await addBox(home, {
      source: url,
      name: t.box,
      version: t.constraint === undefined ? `= ${choice.version}` : `${t.constraint}, = ${choice.version}`,
      provider: t.provider,
      force: false,
      http: httpOptions(process.env, o.caCert === undefined ? undefined : resolve(cwd, o.caCert)),
      progress: createProgress(progressMode(o.json)),
      note: o.note,
    });
    results.push({
      box: t.box,
      version: choice.version,
      added: true,
      message: `added ${choice.version}; machines made before keep their version (recreate them to move: \`boxfest up --recreate\`)`,
    });
  }
  if (o.json) o.print(JSON.stringify(results, null, 2));
  else for (const r of results) o.print(`${r.box}: ${r.message}`);
  return 0;
}
