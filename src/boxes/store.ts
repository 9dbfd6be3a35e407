// The per-user box store: boxes/<name>/<version>/<provider>/, where <provider> is the boxfest
// provider whose format the image is in (qemu: qcow2; virtualbox: a VMDK with its OVF).
//
// An entry's metadata.json names its current image. Images are named by their content
// (`box-<sha256>.qcow2`) and read-only, and never change while a disk is backed by them: `box add
// --force` stores the new image beside the old one, which stays (with its metadata as
// previous-<sha>.json) until no machine uses it. Boxes stored before versions existed live under
// version `0` as `box.qcow2` and are read as they are.
//
// Every change happens under the store lock (locks/boxes.lock): a box going in or out, and a
// machine starting or stopping to use one, so `box remove` or `prune` in one shell and `up` in
// another project never delete an image under a disk.
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DiskInterface, FirstBoot, ProviderName } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../state/atomic.js';
import { readMachineState } from '../state/machine-state.js';
import { boxNameOfDir, boxPaths, boxRoot, homePaths, machinePaths } from '../state/paths.js';
import { withWaitingLock } from '../state/wait-lock.js';
import { boxNameProblem, boxVersionProblem, checkBoxName, checkBoxVersion } from './name.js';
import { compareVersions, newestVersion, parseConstraint, type Requirement } from './version.js';

export type { DiskInterface, FirstBoot };

export const DISK_INTERFACES: readonly DiskInterface[] = ['virtio', 'nvme'];

/** Kinds of stored image: the boxfest provider whose own format it is (libvirt runs QEMU's). */
export type StoreProvider = Exclude<ProviderName, 'libvirt'>;
export const STORE_PROVIDERS: readonly StoreProvider[] = ['qemu', 'virtualbox'];

export type ImageFormat = 'qcow2' | 'vmdk';

/** What the box was made from. */
export type BoxOrigin = 'image' | 'vagrant-libvirt' | 'vagrant-virtualbox' | 'converted' | 'legacy';

export interface BoxMetadata {
  name: string;
  version: string;
  provider: StoreProvider;
  format: ImageFormat;
  /** The image's file name in the entry (unset in boxes stored before: `box.qcow2`). */
  imageFile?: string;
  /** User of the first login. */
  sshUser: string;
  /** Whether a first-login key ships with the box (stored next to the image). */
  hasInsecureKey: boolean;
  insecureKeyFile?: string;
  diskInterface: DiskInterface;
  /** Of the stored image. */
  sha256: string;
  size: number;
  /** Bytes the guest sees. */
  virtualSize?: number;
  addedAt: string;
  /** The file or URL it was added from. */
  source: string;
  origin?: BoxOrigin;
  /** The checksum the added file was verified against (TYPE:HEX), when one was given. */
  checksum?: string;
  /** The Vagrant catalog it came from: `box outdated` and `box update` ask it again. */
  catalog?: string;
  /** VirtualBox OS type from the box's OVF, e.g. `Debian_64`. */
  osType?: string;
  /** How the guest is set up at first boot. Unset in metadata written before cloud-init boxes existed: see firstBootOf(). */
  firstBoot?: FirstBoot;
}

export interface Box extends BoxMetadata {
  /** Absolute path of the image. */
  image: string;
  insecureKey: string | undefined;
}

/** Boxes without a version (a plain image or .box file) are stored as version `0`, as Vagrant does. */
export const DEFAULT_BOX_VERSION = '0';

/** Stored kinds a provider of a box format can run, preferred first (QEMU converts a VMDK once). */
export const USABLE_KINDS: Record<StoreProvider, readonly StoreProvider[]> = {
  qemu: ['qemu', 'virtualbox'],
  virtualbox: ['virtualbox', 'qemu'],
};

export { checkBoxName };

function boxOf(dir: string, meta: BoxMetadata): Box {
  return {
    ...meta,
    image: join(dir, meta.imageFile ?? 'box.qcow2'),
    insecureKey: meta.hasInsecureKey ? join(dir, meta.insecureKeyFile ?? 'insecure_key') : undefined,
  };
}

function readMeta(file: string): BoxMetadata | undefined {
  try {
    return readJson<BoxMetadata>(file);
  } catch (e) {
    throw new BoxfestError('BOX_METADATA', `the box store's ${file} is not valid JSON`, {
      cause: e,
      hint: 'remove that box directory and add the box again',
    });
  }
}

/** The entry name/version/provider as new machines see it. */
export function readEntry(
  home: string,
  name: string,
  version: string,
  provider: StoreProvider,
): Box | undefined {
  checkBoxName(name);
  checkBoxVersion(version);
  const p = boxPaths(home, name, version, provider);
  const meta = readMeta(p.metadata);
  return meta === undefined ? undefined : boxOf(p.dir, meta);
}

/** Every image of an entry: the current one first, then replaced ones machines still use. */
export function entryImages(home: string, name: string, version: string, provider: StoreProvider): Box[] {
  const p = boxPaths(home, name, version, provider);
  if (!existsSync(p.dir)) return [];
  const current = readMeta(p.metadata);
  const previous = readdirSync(p.dir)
    .filter((f) => /^previous-[0-9a-f]+\.json$/.test(f))
    .sort()
    .flatMap((f) => {
      const m = readMeta(join(p.dir, f));
      return m === undefined ? [] : [m];
    });
  return [...(current === undefined ? [] : [current]), ...previous].map((m) => boxOf(p.dir, m));
}

/** A box without a recorded first boot predates cloud-init boxes: it logs in with its key. */
export function firstBootOf(box: BoxMetadata): FirstBoot {
  return box.firstBoot ?? 'ssh-key';
}

/** Names of the boxes in the store. */
export function boxNames(home: string): string[] {
  const dir = homePaths(home).boxes;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map(boxNameOfDir)
    .filter((n) => boxNameProblem(n) === undefined)
    .sort();
}

/** An entry with a current image, or only replaced ones that machines still use. */
export function hasImages(home: string, name: string, version: string, provider: StoreProvider): boolean {
  const p = boxPaths(home, name, version, provider);
  if (existsSync(p.metadata)) return true;
  return existsSync(p.dir) && readdirSync(p.dir).some((f) => /^previous-[0-9a-f]+\.json$/.test(f));
}

/** Versions of a box in the store (with images current or kept for machines), oldest first. */
export function boxVersions(home: string, name: string): string[] {
  checkBoxName(name);
  const root = boxRoot(home, name);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => boxVersionProblem(v) === undefined)
    .filter((v) => STORE_PROVIDERS.some((k) => hasImages(home, name, v, k)))
    .sort(compareVersions);
}

/** Every entry of the store (name, then version oldest first, then provider). */
export function listBoxes(home: string): Box[] {
  return boxNames(home).flatMap((name) =>
    boxVersions(home, name).flatMap((v) =>
      STORE_PROVIDERS.flatMap((k) => {
        const b = readEntry(home, name, v, k);
        return b === undefined ? [] : [b];
      }),
    ),
  );
}

export interface BoxRequest {
  name: string;
  /** `box_version`, Vagrant's constraint syntax; unset: the newest. */
  constraint?: string | undefined;
  /** The kind of box the machine's provider runs first (Provider.boxFormat). */
  provider: StoreProvider;
}

export function requirementsOf(constraint: string | undefined): Requirement[] {
  if (constraint === undefined) return [];
  const r = parseConstraint(constraint);
  if ('problem' in r) throw new BoxfestError('BOX_VERSION_CONSTRAINT', r.problem);
  return r;
}

/** The newest stored version meeting the request with an entry `provider` can run, or undefined. */
export function pickBox(home: string, req: BoxRequest): Box | undefined {
  checkBoxName(req.name);
  const reqs = requirementsOf(req.constraint);
  const usable = (v: string) =>
    USABLE_KINDS[req.provider].some((k) => existsSync(boxPaths(home, req.name, v, k).metadata));
  const version = newestVersion(boxVersions(home, req.name).filter(usable), reqs);
  if (version === undefined) return undefined;
  for (const k of USABLE_KINDS[req.provider]) {
    const b = readEntry(home, req.name, version, k);
    if (b !== undefined) return b;
  }
  return undefined;
}

export function requireBox(home: string, req: BoxRequest | string): Box {
  const r: BoxRequest = typeof req === 'string' ? { name: req, provider: 'qemu' } : req;
  const box = pickBox(home, r);
  if (box !== undefined) return box;
  const have = boxVersions(home, r.name);
  throw new BoxfestError(
    'BOX_NOT_FOUND',
    have.length === 0
      ? `box \`${r.name}\` is not in the box store (${homePaths(home).boxes})`
      : `no version of box \`${r.name}\` in the store meets \`${r.constraint ?? 'any'}\` for ${r.provider} (it has ${have.join(', ')})`,
    {
      hint:
        have.length === 0
          ? `add it: boxfest box add ${r.name} FILE-OR-URL, or set \`box_url:\` in the Boxfile`
          : `add a fitting version (boxfest box add URL --box-version "${r.constraint ?? ''}"), or change \`box_version\``,
    },
  );
}

/**
 * The box a machine was made from, by the image its state records: the entry's current image or
 * one it replaced. Undefined when that image is gone.
 */
export function boxOfImage(
  home: string,
  ref: { name: string; version: string; image: string },
): Box | undefined {
  if (boxNameProblem(ref.name) !== undefined || boxVersionProblem(ref.version) !== undefined)
    return undefined;
  for (const k of STORE_PROVIDERS) {
    if (dirname(ref.image) !== boxPaths(home, ref.name, ref.version, k).dir) continue;
    const b = entryImages(home, ref.name, ref.version, k).find((x) => x.image === ref.image);
    if (b !== undefined && existsSync(b.image)) return b;
  }
  return undefined;
}

/** Runs `body` holding the box store's lock (it waits its turn; the critical sections are short). */
export function withStoreLock<T>(home: string, what: string, body: () => Promise<T>): Promise<T> {
  return withWaitingLock(homePaths(home).boxesLock, what, 120_000, body);
}

// --- users: which machine disks are backed by which image --------------------------------

export interface BoxUser {
  project: string;
  machine: string;
  provider: ProviderName;
  /** The machine's disk (QEMU: its overlay; VirtualBox: none on this host). */
  disk: string;
  /** The image it is backed by. */
  image: string;
  since: string;
}

const hash32 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/** The users directory next to `image`, when the image is one of the store's. */
function usersDirOf(home: string, ref: { name: string; version: string; image: string }): string | undefined {
  if (boxNameProblem(ref.name) !== undefined || boxVersionProblem(ref.version) !== undefined)
    return undefined;
  for (const k of STORE_PROVIDERS) {
    const p = boxPaths(home, ref.name, ref.version, k);
    if (dirname(ref.image) === p.dir) return p.users;
  }
  return undefined;
}

/**
 * Notes that a machine's disk is (about to be) backed by `box`'s image, before the disk exists.
 * Call under the store lock: the image is proven to be there still.
 */
export function recordBoxUser(home: string, box: Box, user: Omit<BoxUser, 'image' | 'since'>): void {
  const dir = usersDirOf(home, box);
  if (dir === undefined) throw new Error(`internal: ${box.image} is not in the box store`);
  if (!existsSync(box.image))
    throw new BoxfestError('BOX_NOT_FOUND', `box \`${box.name}\` ${box.version} was removed meanwhile`, {
      hint: 'add it again (boxfest box add ...), then run `boxfest up` again',
    });
  const record: BoxUser = { ...user, image: box.image, since: new Date().toISOString() };
  writeFileAtomic(
    join(dir, `${hash32(`${user.project}\0${user.machine}`)}.json`),
    JSON.stringify(record) + '\n',
  );
}

/**
 * Forgets a machine everywhere in the store (destroy, discard): its state, which names the box,
 * may be gone already. Records of earlier layouts were named by the machine's overlay or state path.
 */
export function forgetMachine(home: string, project: string, machine: string): void {
  const m = machinePaths(project, machine);
  const names = [
    `${hash32(`${project}\0${machine}`)}.json`,
    hash32(join(m.dir, 'disk.qcow2')),
    hash32(m.state),
  ];
  for (const name of boxNames(home))
    for (const version of boxVersions(home, name))
      for (const k of STORE_PROVIDERS) {
        const dir = boxPaths(home, name, version, k).users;
        if (existsSync(dir)) for (const f of names) rmSync(join(dir, f), { force: true });
      }
}

/**
 * Is this record's machine still made from its image? Its state says so (a machine recreated
 * from another image no longer is); without a state, a record of an earlier layout (an overlay
 * or state path) holds while that path exists, and one of a hypervisor that keeps a machine
 * whose start failed holds until destroy forgets it or its project is gone. Anything unreadable
 * counts as yes.
 */
function stillUses(u: BoxUser): boolean {
  if (u.project !== '') {
    if (!existsSync(u.project)) return false;
    try {
      const state = readMachineState(u.project, u.machine);
      if (state !== undefined) return state.box.image === u.image;
    } catch {
      return true;
    }
    return u.provider !== 'qemu';
  }
  return u.disk !== '' && existsSync(u.disk);
}

/** Machines whose disks are backed by `image` (an image of the entry at `entryDir`). */
export function usersOf(entryDir: string, image: string): BoxUser[] {
  const dir = join(entryDir, 'users');
  if (!existsSync(dir)) return [];
  const legacyImage = join(entryDir, 'box.qcow2');
  return readdirSync(dir).flatMap((f): BoxUser[] => {
    let text: string;
    try {
      text = readFileSync(join(dir, f), 'utf8');
    } catch {
      return [];
    }
    let u: BoxUser;
    if (f.endsWith('.json')) {
      try {
        u = JSON.parse(text) as BoxUser;
      } catch {
        // Unreadable: it may be a machine's; keep the image.
        u = { project: '', machine: f, provider: 'qemu', disk: '', image, since: '' };
        return [u];
      }
    } else {
      // Before versions: the file held the overlay's path, on the entry's one image.
      u = {
        project: '',
        machine: basename(dirname(dirname(text.trim()))),
        provider: 'qemu',
        disk: text.trim(),
        image: legacyImage,
        since: '',
      };
    }
    return u.image === image && stillUses(u) ? [u] : [];
  });
}

// --- adding ------------------------------------------------------------------------------

/** An entry prepared in the staging area: its files (image named by content) and metadata. */
export interface StagedBox {
  /** Directory holding the entry's files, on the store's file system. */
  dir: string;
  meta: BoxMetadata;
}

/**
 * Moves a staged entry into the store. With `force` an existing entry of the same name, version
 * and provider is replaced, but its image stays while machines use it.
 */
export async function commitBox(home: string, staged: StagedBox, force: boolean): Promise<Box> {
  const { meta } = staged;
  checkBoxName(meta.name);
  checkBoxVersion(meta.version);
  return withStoreLock(home, `add box ${meta.name}`, () => {
    const p = boxPaths(home, meta.name, meta.version, meta.provider);
    const existing = readEntry(home, meta.name, meta.version, meta.provider);
    if (existing !== undefined && !force)
      throw new BoxfestError(
        'BOX_EXISTS',
        `box \`${meta.name}\` ${meta.version} (${meta.provider}) is already in the store`,
        {
          hint: 'use another name or version, or `--force` to replace it (machines made from the old image keep using it)',
        },
      );
    mkdirSync(p.dir, { recursive: true });
    for (const f of readdirSync(staged.dir)) {
      const target = join(p.dir, f);
      // Same name means same content (files are named by their sha256): keep the stored one.
      if (existsSync(target)) rmSync(join(staged.dir, f), { force: true });
      else renameSync(join(staged.dir, f), target);
    }
    rmSync(staged.dir, { recursive: true, force: true });
    if (existing !== undefined && existing.image !== boxOf(p.dir, meta).image) {
      if (usersOf(p.dir, existing.image).length > 0)
        writeJsonAtomic(p.previous(existing.sha256), stripBox(existing));
      else removeImage(home, existing);
    }
    writeJsonAtomic(p.metadata, meta);
    return Promise.resolve(boxOf(p.dir, meta));
  });
}

/** The metadata of a Box, without the paths read from it. */
export function stripBox(b: Box): BoxMetadata {
  const meta: Partial<Box> = { ...b };
  delete meta.image;
  delete meta.insecureKey;
  return meta as BoxMetadata;
}

/** Deletes one image with its key, saved states and metadata (the caller proved it unused). */
function removeImage(home: string, b: Box): void {
  const p = boxPaths(home, b.name, b.version, b.provider);
  const current = readMeta(p.metadata);
  const shared = (f: string | undefined) =>
    entryImages(home, b.name, b.version, b.provider).some(
      (o) => o.image !== b.image && (o.insecureKey === f || o.image === f),
    );
  rmSync(b.image, { force: true });
  if (b.insecureKey !== undefined && !shared(b.insecureKey)) rmSync(b.insecureKey, { force: true });
  rmSync(p.previous(b.sha256), { force: true });
  if (existsSync(p.states))
    for (const key of readdirSync(p.states)) {
      const m = readJson<{ box?: { sha256?: string } }>(join(p.states, key, 'meta.json'));
      if (m?.box?.sha256 === b.sha256) rmSync(join(p.states, key), { recursive: true, force: true });
    }
  if (current !== undefined && boxOf(p.dir, current).image === b.image) rmSync(p.metadata, { force: true });
}

// --- removing ------------------------------------------------------------------------------

export interface RemovalPlan {
  /** Images no machine uses: removed. */
  remove: Box[];
  /** Images machines use: kept, with those machines. */
  keep: { box: Box; users: BoxUser[] }[];
}

export interface EntryRef {
  name: string;
  version: string;
  provider: StoreProvider;
}

function entriesOf(home: string, name: string, version?: string, provider?: StoreProvider): EntryRef[] {
  return boxVersions(home, name)
    .filter((v) => version === undefined || v === version)
    .flatMap((v) =>
      STORE_PROVIDERS.filter((k) => provider === undefined || k === provider)
        .filter((k) => existsSync(boxPaths(home, name, v, k).dir))
        .map((k) => ({ name, version: v, provider: k })),
    );
}

export function planRemoval(home: string, entries: readonly EntryRef[], onlyReplaced = false): RemovalPlan {
  const plan: RemovalPlan = { remove: [], keep: [] };
  for (const e of entries) {
    const images = entryImages(home, e.name, e.version, e.provider);
    for (const [i, b] of images.entries()) {
      if (onlyReplaced && i === 0 && readEntry(home, e.name, e.version, e.provider) !== undefined) continue;
      const users = usersOf(boxPaths(home, e.name, e.version, e.provider).dir, b.image);
      if (users.length > 0) plan.keep.push({ box: b, users });
      else plan.remove.push(b);
    }
  }
  return plan;
}

/** Applies a plan under the store lock, checking every image's users again first. */
export function applyRemoval(home: string, plan: RemovalPlan, what: string): Promise<RemovalPlan> {
  return withStoreLock(home, what, () => {
    const done: RemovalPlan = { remove: [], keep: [...plan.keep] };
    for (const b of plan.remove) {
      const p = boxPaths(home, b.name, b.version, b.provider);
      const users = usersOf(p.dir, b.image);
      if (users.length > 0) {
        done.keep.push({ box: b, users });
        continue;
      }
      removeImage(home, b);
      done.remove.push(b);
      removeEmptyEntry(home, b);
    }
    return Promise.resolve(done);
  });
}

/** An entry with no image left goes (users/ and states/ with it), then empty version/name dirs. */
function removeEmptyEntry(home: string, ref: EntryRef): void {
  const p = boxPaths(home, ref.name, ref.version, ref.provider);
  if (entryImages(home, ref.name, ref.version, ref.provider).some((b) => existsSync(b.image))) return;
  // Only what the store made: a real directory, never a symlink out of the store.
  if (existsSync(p.dir) && lstatSync(p.dir).isDirectory()) rmSync(p.dir, { recursive: true, force: true });
  for (const d of [dirname(p.dir), boxRoot(home, ref.name)]) {
    try {
      rmdirSync(d);
    } catch {
      // not empty: other versions or providers remain
    }
  }
}

/**
 * `box remove NAME [--box-version V] [--provider P]`: refuses while machines use any of it;
 * with `force`, removes what no machine uses and keeps the rest.
 */
export async function removeBox(
  home: string,
  name: string,
  opts: { version?: string | undefined; provider?: StoreProvider | undefined; force: boolean },
): Promise<RemovalPlan> {
  checkBoxName(name);
  if (opts.version !== undefined) checkBoxVersion(opts.version);
  const entries = entriesOf(home, name, opts.version, opts.provider);
  if (entries.length === 0)
    throw new BoxfestError(
      'BOX_NOT_FOUND',
      `box \`${name}\`${opts.version === undefined ? '' : ` ${opts.version}`} is not in the box store`,
      { hint: 'see `boxfest box list`' },
    );
  const plan = planRemoval(home, entries);
  if (plan.keep.length > 0 && !opts.force) throw inUse(name, plan);
  return applyRemoval(home, plan, `remove box ${name}`);
}

export function inUse(name: string, plan: RemovalPlan): BoxfestError {
  const lines = plan.keep.flatMap(({ box, users }) =>
    users.map(
      (u) =>
        `${box.version} (${box.provider}): ${u.project === '' ? u.disk : `${u.project} machine ${u.machine}`}`,
    ),
  );
  return new BoxfestError(
    'BOX_IN_USE',
    `box \`${name}\` backs ${lines.length} machine disk(s); removing it would break them`,
    {
      details: lines.join('\n'),
      hint: 'destroy those machines first (`boxfest destroy` in their projects); `--force` removes only what no machine uses',
    },
  );
}

/** `box prune`: every version but each box's newest, and replaced images, that no machine uses. */
export function planPrune(home: string): RemovalPlan {
  const plan: RemovalPlan = { remove: [], keep: [] };
  for (const name of boxNames(home)) {
    const versions = boxVersions(home, name);
    const newest = versions.at(-1);
    for (const v of versions) {
      const part = planRemoval(home, entriesOf(home, name, v), v === newest);
      plan.remove.push(...part.remove);
      plan.keep.push(...part.keep);
    }
  }
  return plan;
}
