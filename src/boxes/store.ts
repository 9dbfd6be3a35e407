// The per-user box store: boxes/<name>/<version>/<provider>/{box.qcow2, insecure_key, metadata.json}.
// A stored image is read-only (mode 0444) and only ever used as a backing file.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { DiskInterface, FirstBoot } from '../config/types.js';
import { BoxfestError } from '../errors.js';

export type { DiskInterface };
import { readJson, writeFileAtomic, writeJsonAtomic } from '../state/atomic.js';
import { boxPaths, homePaths } from '../state/paths.js';

export const DISK_INTERFACES: readonly DiskInterface[] = ['virtio', 'nvme'];

export type { FirstBoot };

export interface BoxMetadata {
  name: string;
  version: string;
  /** The provider the box is for (Vagrant's sense); `qemu`: a qcow2 image. */
  provider: string;
  format: 'qcow2';
  /** User of the first login. */
  sshUser: string;
  /** Whether an insecure key ships with the box (stored next to the image). */
  hasInsecureKey: boolean;
  diskInterface: DiskInterface;
  sha256: string;
  size: number;
  addedAt: string;
  source: string;
  /** Unset in metadata written before cloud-init boxes existed: see firstBootOf(). */
  firstBoot?: FirstBoot;
}

export interface Box extends BoxMetadata {
  image: string;
  insecureKey: string | undefined;
}

/** Boxes have no versions yet; every box lives under this one. */
export const DEFAULT_BOX_VERSION = '0';
const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkBoxName(name: string): void {
  if (!BOX_NAME.test(name))
    throw new BoxfestError('BOX_NAME', `\`${name}\` is not a valid box name`, {
      hint: 'use letters, digits, dot, dash and underscore (at most 64 characters)',
    });
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function findBox(home: string, name: string, provider: string): Box | undefined {
  const p = boxPaths(home, name, DEFAULT_BOX_VERSION, provider);
  const meta = readJson<BoxMetadata>(p.metadata);
  if (meta === undefined) return undefined;
  return { ...meta, image: p.image, insecureKey: meta.hasInsecureKey ? p.insecureKey : undefined };
}

export function firstBootOf(box: BoxMetadata): FirstBoot {
  return box.firstBoot ?? 'ssh-key';
}

export function requireBox(home: string, name: string, provider: string): Box {
  const box = findBox(home, name, provider);
  if (box === undefined)
    throw new BoxfestError(
      'BOX_NOT_FOUND',
      `box \`${name}\` is not in the box store (${homePaths(home).boxes})`,
      {
        hint: `add it: boxfest box add ${name} IMAGE.qcow2 [--ssh-user USER] [--ssh-key KEY]`,
      },
    );
  return box;
}

export function listBoxes(home: string, provider: string): Box[] {
  const dir = homePaths(home).boxes;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => findBox(home, name, provider))
    .filter((b): b is Box => b !== undefined);
}

export interface AddBoxInput {
  name: string;
  provider: string;
  image: string;
  sshUser: string;
  sshKey: string | undefined;
  diskInterface: DiskInterface;
  force: boolean;
  firstBoot?: FirstBoot;
}

/** Copies image (and key) into the store; staged in a temp dir and renamed, so never half-added. */
export async function addBox(home: string, input: AddBoxInput): Promise<Box> {
  checkBoxName(input.name);
  const p = boxPaths(home, input.name, DEFAULT_BOX_VERSION, input.provider);
  if (existsSync(p.metadata) && !input.force)
    throw new BoxfestError('BOX_EXISTS', `box \`${input.name}\` is already in the store`, {
      hint: 'use another name, or `--force` to replace it (machines made from the old image keep using it until destroyed)',
    });
  mkdirSync(dirname(p.dir), { recursive: true });
  const staging = `${p.dir}.adding-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const stagedImage = join(staging, 'box.qcow2');
    copyFileSync(input.image, stagedImage);
    chmodSync(stagedImage, 0o444);
    if (input.sshKey !== undefined) {
      copyFileSync(input.sshKey, join(staging, 'insecure_key'));
      chmodSync(join(staging, 'insecure_key'), 0o600);
    }
    const meta: BoxMetadata = {
      name: input.name,
      version: DEFAULT_BOX_VERSION,
      provider: input.provider,
      format: 'qcow2',
      sshUser: input.sshUser,
      hasInsecureKey: input.sshKey !== undefined,
      diskInterface: input.diskInterface,
      sha256: await sha256File(stagedImage),
      size: statSync(stagedImage).size,
      addedAt: new Date().toISOString(),
      source: input.image,
      firstBoot: input.firstBoot ?? 'ssh-key',
    };
    writeJsonAtomic(join(staging, 'metadata.json'), meta);
    if (existsSync(p.dir)) {
      // --force: keep the old image alive for overlays that still point at it.
      renameSync(p.dir, `${p.dir}.replaced-${Date.now()}`);
    }
    renameSync(staging, p.dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return requireBox(home, input.name, input.provider);
}

// A box's users: the machines made from it, recorded per machine provider (each under its own
// boxes/<name>/<version>/<provider>/users/), each as a path that exists while the machine does.
const userFile = (home: string, box: string, provider: string, user: string) =>
  join(
    boxPaths(home, box, DEFAULT_BOX_VERSION, provider).users,
    createHash('sha256').update(user).digest('hex').slice(0, 32),
  );

/** Notes that `user` (a path that exists while the machine does) is made from the box, before it is. */
export function recordBoxUser(home: string, box: string, provider: string, user: string): void {
  writeFileAtomic(userFile(home, box, provider, user), user + '\n');
}

export function forgetBoxUser(home: string, box: string, provider: string, user: string): void {
  rmSync(userFile(home, box, provider, user), { force: true });
}

/** The users of the box, of every provider, that still exist. */
export function boxUsers(home: string, box: string): string[] {
  const version = join(homePaths(home).boxes, box, DEFAULT_BOX_VERSION);
  if (!existsSync(version)) return [];
  return readdirSync(version).flatMap((provider) => {
    const dir = boxPaths(home, box, DEFAULT_BOX_VERSION, provider).users;
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8').trim())
      .filter((user) => existsSync(user));
  });
}

export function removeBox(home: string, name: string, provider: string, force: boolean): void {
  requireBox(home, name, provider);
  const users = boxUsers(home, name);
  if (users.length > 0 && !force)
    throw new BoxfestError(
      'BOX_IN_USE',
      `box \`${name}\` backs ${users.length} machine disk(s); removing it would break them`,
      {
        details: users.join('\n'),
        hint: 'destroy those machines first (`boxfest destroy` in their projects), or pass --force',
      },
    );
  rmSync(join(homePaths(home).boxes, name), { recursive: true, force: true });
}
