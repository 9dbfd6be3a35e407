// `box add`: from a file or URL, of a Vagrant box (libvirt or VirtualBox layout), a Vagrant
// catalog (its newest fitting version) or a plain disk image, to an entry in the store.
//
// Source → (catalog: pick version and provider) → the file (downloaded, resumable, checksum
// verified) → unpacked and read, or probed as an image → an entry staged beside the store (image
// named by its content, read-only; converted to qcow2 once where QEMU needs it) → committed
// under the store lock. A failure anywhere leaves nothing behind but a resumable download.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProviderName } from '../config/types.js';
import { BoxfestError } from '../errors.js';
import {
  checkStandalone,
  convertToQcow2,
  hasCloudInit,
  imageInfo,
  PLAIN_IMAGE_FORMATS,
} from '../providers/qemu/image.js';
import { writeFileAtomic } from '../state/atomic.js';
import { homePaths } from '../state/paths.js';
import { sniff, unpackBox } from './archive.js';
import { parseCatalog, pickFromCatalog, type Catalog } from './catalog.js';
import { formatChecksum, hashFile, verifyChecksum, type Checksum } from './checksum.js';
import { discardDownload, download, fetchSmall, type HttpOptions } from './download.js';
import { readVagrantBox, type VagrantBox } from './layout.js';
import { BOX_NAME_RULE, boxNameProblem, checkBoxName, checkBoxVersion } from './name.js';
import type { Progress } from './progress.js';
import {
  commitBox,
  DEFAULT_BOX_VERSION,
  readEntry,
  requirementsOf,
  stripBox,
  type Box,
  type BoxMetadata,
  type BoxOrigin,
  type DiskInterface,
} from './store.js';
import { SAFE_USER } from './vagrantfile.js';
import { VAGRANT_INSECURE_PRIVATE_KEY } from './vagrant-key.js';

export interface AddOptions {
  /** A path (absolute) or an http(s)/file URL. */
  source: string;
  name?: string | undefined;
  /** Catalogs: a constraint (`>= 12, < 13`); files: the version to store it as (default `0`). */
  version?: string | undefined;
  checksum?: Checksum | undefined;
  /** The provider the box is wanted for: decides a catalog's choice (default qemu). */
  provider: ProviderName;
  sshUser?: string | undefined;
  sshKey?: string | undefined;
  /**
   * `--cloud-init`: a cloud image that cloud-init sets up from boxfest's seed at first boot (no
   * first-login key). Unset, a plain image without `--ssh-key` is looked into: one with cloud-init
   * is taken as one.
   */
  cloudInit?: boolean | undefined;
  diskInterface?: DiskInterface | undefined;
  force: boolean;
  http: HttpOptions;
  progress: Progress;
  /** Lines for the user (not progress). */
  note: (text: string) => void;
}

/** The user a cloud-init box's machines log in as unless `--ssh-user` (or `ssh.user`) says otherwise. */
export const CLOUD_INIT_USER = 'boxfest';

export const isUrl = (s: string) => /^(https?|file):\/\//i.test(s);

/** Where a catalog came from and what it offered. */
export interface CatalogSource {
  url: string;
  catalog: Catalog;
}

/** Reads the catalog at `source` (a URL or a path), or undefined when it is not a catalog. */
export async function readCatalog(source: string, http: HttpOptions): Promise<CatalogSource | undefined> {
  if (/^https?:\/\//i.test(source)) {
    if (/\.(box|img|qcow2|raw|vmdk|vdi|vhdx|vhd|tar|tgz|gz)$/i.test(new URL(source).pathname))
      return undefined;
    const r = await fetchSmall(source, http);
    return 'json' in r ? { url: source, catalog: parseCatalog(r.json, source) } : undefined;
  }
  const path = localPath(source);
  if (!existsSync(path) || sniff(path) !== 'json') return undefined;
  return { url: path, catalog: parseCatalog(readFileSync(path, 'utf8'), path) };
}

function localPath(source: string): string {
  return /^file:\/\//i.test(source) ? fileURLToPath(source) : source;
}

/** `debian-12.box` → `debian-12`; undefined when nothing valid is left. */
function nameFromSource(source: string): string | undefined {
  let base = basename(isUrl(source) ? new URL(source).pathname : source);
  for (let i = 0; i < 2; i++)
    base = base.replace(/\.(box|img|qcow2|raw|vmdk|vdi|vhdx|vhd|tar|tgz|gz|json)$/i, '');
  return boxNameProblem(base) === undefined ? base : undefined;
}

export async function addBox(home: string, o: AddOptions): Promise<Box> {
  if (o.sshUser !== undefined && !SAFE_USER.test(o.sshUser))
    throw new BoxfestError(
      'BOX_SSH_USER',
      `\`${JSON.stringify(o.sshUser).slice(1, -1)}\` is not a user name boxfest can log in as`,
      {
        hint: 'letters, digits, `_`, `.` and `-`, starting with a letter or `_`',
      },
    );
  if (o.sshKey !== undefined && !(existsSync(o.sshKey) && statSync(o.sshKey).isFile()))
    throw new BoxfestError('BOX_KEY_MISSING', `no key file at ${o.sshKey}`, {
      hint: "give the path of the box's private key file",
    });
  if (o.cloudInit === true && o.sshKey !== undefined)
    throw new BoxfestError('BOX_FIRST_BOOT', '`--cloud-init` and `--ssh-key` exclude each other', {
      hint: "a cloud-init box has no first-login key: cloud-init installs each machine's own key; drop one of them",
    });
  if (o.cloudInit === true && o.sshUser === 'root') throw cloudInitRoot();
  if (o.name !== undefined) checkBoxName(o.name);
  const found = await readCatalog(o.source, o.http);
  if (found !== undefined) return addFromCatalog(home, found, o);
  const version = o.version ?? DEFAULT_BOX_VERSION;
  if (o.version !== undefined && /[<>=~!,\s]/.test(o.version))
    throw new BoxfestError(
      'BOX_VERSION',
      `\`${o.version}\` is a constraint, but ${o.source} is a single box`,
      {
        hint: 'for a box file or image, --box-version is the version to store it as, e.g. 1.2.0',
      },
    );
  checkBoxVersion(version);
  const name = o.name ?? nameFromSource(o.source);
  if (name === undefined)
    throw new BoxfestError('BOX_NAME', `cannot name a box after ${o.source}`, {
      hint: `give one with --name (${BOX_NAME_RULE})`,
    });
  return addFile(home, o, { name, version, url: o.source, checksum: o.checksum });
}

function cloudInitRoot(): BoxfestError {
  return new BoxfestError('BOX_SSH_USER', 'a cloud-init box cannot log in as root', {
    hint: `cloud-init creates a user with passwordless sudo; leave out --ssh-user (default \`${CLOUD_INIT_USER}\`) or name another user`,
  });
}

async function addFromCatalog(home: string, found: CatalogSource, o: AddOptions): Promise<Box> {
  const { catalog, url } = found;
  const choice = pickFromCatalog(catalog, requirementsOf(o.version), o.provider);
  if ('problem' in choice)
    throw new BoxfestError('BOX_CATALOG_NO_FIT', choice.problem, {
      hint: 'change --box-version (or `box_version` in the Boxfile), or ask for another provider with --provider',
    });
  const name = o.name ?? catalog.name;
  checkBoxName(name);
  const boxUrl = isUrl(url) ? new URL(choice.provider.url, url).href : resolveLocal(choice.provider.url, url);
  o.note(`${name}: version ${choice.version} (${choice.provider.name}) from ${url}`);
  return addFile(home, o, {
    name,
    version: choice.version,
    url: boxUrl,
    checksum: o.checksum ?? choice.provider.checksum,
    catalog: url,
  });
}

/** A catalog on disk may name its boxes relative to itself. */
function resolveLocal(target: string, catalogPath: string): string {
  return isUrl(target) ? target : resolve(dirname(catalogPath), target);
}

interface FileSource {
  name: string;
  version: string;
  url: string;
  checksum: Checksum | undefined;
  catalog?: string;
}

async function addFile(home: string, o: AddOptions, src: FileSource): Promise<Box> {
  const remote = /^https?:\/\//i.test(src.url);
  let file: string;
  let sha256: string | undefined;
  if (remote) {
    const d = await download(home, src.url, { checksum: src.checksum, http: o.http, progress: o.progress });
    file = d.file;
    sha256 = d.digests.get('sha256');
  } else {
    file = localPath(src.url);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new BoxfestError('BOX_SOURCE_MISSING', `no file at ${file}`, {
        hint: 'give the path of a .box file, a disk image or a catalog, or an http(s) URL',
      });
    if (src.checksum !== undefined) {
      const digests = await hashFile(file, [src.checksum.type]);
      verifyChecksum(file, src.checksum, digests);
      sha256 = digests.get('sha256');
    }
  }
  mkdirSync(homePaths(home).boxesStaging, { recursive: true });
  const staging = mkdtempSync(join(homePaths(home).boxesStaging, 'add-'));
  try {
    const entry = join(staging, 'entry');
    mkdirSync(entry);
    const kind = sniff(file);
    let meta: BoxMetadata;
    if (kind === 'gzip' || kind === 'tar' || kind === 'zip' || kind === 'bzip2' || kind === 'xz') {
      const unpacked = join(staging, 'unpacked');
      mkdirSync(unpacked);
      o.progress.note(`unpacking ${basename(src.url)}`);
      await unpackBox(file, unpacked, src.url);
      meta = await stageVagrantBox(readVagrantBox(unpacked, src.url), entry, o, src);
    } else {
      meta = await stageImage(file, remote, sha256, entry, o, src);
    }
    const box = await commitBox(home, { dir: entry, meta }, o.force);
    if (remote) discardDownload(home, src.url);
    return box;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function baseMeta(
  src: FileSource,
): Pick<BoxMetadata, 'name' | 'version' | 'addedAt' | 'source' | 'checksum' | 'catalog'> {
  return {
    name: src.name,
    version: src.version,
    addedAt: new Date().toISOString(),
    source: src.url,
    ...(src.checksum === undefined ? {} : { checksum: formatChecksum(src.checksum) }),
    ...(src.catalog === undefined ? {} : { catalog: src.catalog }),
  };
}

/** Moves `image` into the entry as box-<sha>.<ext>, read-only; returns its sha256 and size. */
async function placeImage(
  image: string,
  entry: string,
  ext: string,
  move: boolean,
  known?: string,
): Promise<{ file: string; sha256: string; size: number }> {
  const sha256 = known ?? (await hashFile(image)).get('sha256')!;
  const file = `box-${sha256.slice(0, 16)}.${ext}`;
  const target = join(entry, file);
  if (move) renameSync(image, target);
  else copyFileSync(image, target);
  chmodSync(target, 0o444);
  return { file, sha256, size: statSync(target).size };
}

/**
 * The first-login key: --ssh-key, else (Vagrant boxes) the key the box ships
 * (`vagrant_private_key`), else Vagrant's published insecure key.
 */
function placeKey(
  entry: string,
  sha256: string,
  o: AddOptions,
  vagrant: boolean,
  shipped?: string,
): string | undefined {
  const file = `insecure_key-${sha256.slice(0, 16)}`;
  const given = o.sshKey ?? shipped;
  if (given !== undefined) {
    copyFileSync(given, join(entry, file));
    chmodSync(join(entry, file), 0o600);
    return file;
  }
  if (!vagrant) return undefined;
  writeFileAtomic(join(entry, file), VAGRANT_INSECURE_PRIVATE_KEY, 0o600);
  return file;
}

const BUS_TO_INTERFACE: Record<string, DiskInterface> = { virtio: 'virtio', nvme: 'nvme' };

async function stageVagrantBox(
  vb: VagrantBox,
  entry: string,
  o: AddOptions,
  src: FileSource,
): Promise<BoxMetadata> {
  const info = await checkStandalone(vb.image, `${src.url}: ${basename(vb.image)}`);
  if (info.format !== vb.format)
    throw new BoxfestError(
      'BOX_LAYOUT',
      `${src.url}: ${basename(vb.image)} is a ${info.format} image, not ${vb.format}`,
      {
        hint: 'the box is damaged or mislabelled',
      },
    );
  let diskInterface = o.diskInterface;
  if (diskInterface === undefined && vb.settings.diskBus !== undefined) {
    diskInterface = BUS_TO_INTERFACE[vb.settings.diskBus];
    if (diskInterface === undefined)
      o.note(
        `the box's Vagrantfile asks for disk bus \`${vb.settings.diskBus}\`; boxfest attaches virtio or nvme: using virtio (--disk-interface to choose)`,
      );
  }
  if (o.cloudInit === true)
    throw new BoxfestError(
      'BOX_FIRST_BOOT',
      `${src.url} is a Vagrant box: it logs in with its key (first boot: ssh-key), not through cloud-init`,
      { hint: 'drop --cloud-init; --cloud-init is for plain cloud images (qcow2, raw, ...)' },
    );
  const placed = await placeImage(vb.image, entry, vb.format, true);
  const keyFile = placeKey(entry, placed.sha256, o, true, vb.privateKey);
  return {
    ...baseMeta(src),
    provider: vb.provider === 'libvirt' ? 'qemu' : 'virtualbox',
    format: vb.format,
    imageFile: placed.file,
    sshUser: o.sshUser ?? vb.settings.sshUser ?? 'vagrant',
    hasInsecureKey: keyFile !== undefined,
    ...(keyFile === undefined ? {} : { insecureKeyFile: keyFile }),
    diskInterface: diskInterface ?? 'virtio',
    sha256: placed.sha256,
    size: placed.size,
    virtualSize: info.virtualSize,
    origin: vb.provider === 'libvirt' ? 'vagrant-libvirt' : 'vagrant-virtualbox',
    firstBoot: 'ssh-key',
    ...(vb.osType === undefined ? {} : { osType: vb.osType }),
  };
}

async function stageImage(
  file: string,
  downloaded: boolean,
  sha256: string | undefined,
  entry: string,
  o: AddOptions,
  src: FileSource,
): Promise<BoxMetadata> {
  const probed = await imageInfo(file);
  if (!(PLAIN_IMAGE_FORMATS as readonly string[]).includes(probed.format))
    throw new BoxfestError(
      'BOX_FORMAT',
      `${src.url} is a ${probed.format} image, which boxfest does not take`,
      {
        hint: `convert it to qcow2 first, or give a ${PLAIN_IMAGE_FORMATS.join(', ')} image or a Vagrant .box`,
      },
    );
  if (probed.format === 'raw' && statSync(file).size % 512 !== 0)
    throw new BoxfestError(
      'BOX_FORMAT',
      `${src.url} is neither a disk image nor a box (${statSync(file).size} bytes of unknown data)`,
      {
        hint: 'give a .box file, a catalog (JSON) or a disk image (qcow2, raw, vmdk, vdi, vhdx)',
      },
    );
  const info = await checkStandalone(file, src.url, probed.format);
  let placed: { file: string; sha256: string; size: number };
  if (info.format === 'qcow2') placed = await placeImage(file, entry, 'qcow2', downloaded, sha256);
  else {
    o.progress.note(`converting the ${info.format} image to qcow2 (once)`);
    const converted = join(entry, 'converting.qcow2');
    await convertToQcow2(file, info.format, converted);
    placed = await placeImage(converted, entry, 'qcow2', true);
  }
  const keyFile = placeKey(entry, placed.sha256, o, false);
  let cloudInit = o.cloudInit === true;
  if (o.cloudInit === undefined && keyFile === undefined) {
    o.progress.note('looking for cloud-init in the image');
    cloudInit = await hasCloudInit(join(entry, placed.file));
    if (cloudInit) {
      if (o.sshUser === 'root') throw cloudInitRoot();
      o.note('cloud-init found in the image (/etc/cloud/cloud.cfg.d): adding it as a cloud-init box');
    }
  }
  const origin: BoxOrigin = 'image';
  return {
    ...baseMeta(src),
    provider: 'qemu',
    format: 'qcow2',
    imageFile: placed.file,
    sshUser: o.sshUser ?? (cloudInit ? CLOUD_INIT_USER : 'root'),
    hasInsecureKey: keyFile !== undefined,
    ...(keyFile === undefined ? {} : { insecureKeyFile: keyFile }),
    diskInterface: o.diskInterface ?? 'virtio',
    sha256: placed.sha256,
    size: placed.size,
    virtualSize: info.virtualSize,
    origin,
    firstBoot: cloudInit ? 'cloud-init' : 'ssh-key',
  };
}

/**
 * The qcow2 entry QEMU runs for `box`: the box itself, or for a VirtualBox-layout box its VMDK
 * converted once into a `qemu` entry of the same name and version (the first `up` makes it).
 */
export async function qemuEntryOf(home: string, box: Box): Promise<Box> {
  if (box.provider === 'qemu') return box;
  const have = readEntry(home, box.name, box.version, 'qemu');
  if (have !== undefined) return have;
  mkdirSync(homePaths(home).boxesStaging, { recursive: true });
  const staging = mkdtempSync(join(homePaths(home).boxesStaging, 'convert-'));
  try {
    const converted = join(staging, 'converting.qcow2');
    await convertToQcow2(box.image, box.format, converted);
    const placed = await placeImage(converted, staging, 'qcow2', true);
    let keyFile: string | undefined;
    if (box.insecureKey !== undefined) {
      keyFile = `insecure_key-${placed.sha256.slice(0, 16)}`;
      copyFileSync(box.insecureKey, join(staging, keyFile));
      chmodSync(join(staging, keyFile), 0o600);
    }
    const rest = stripBox(box);
    const meta: BoxMetadata = {
      ...rest,
      provider: 'qemu',
      format: 'qcow2',
      imageFile: placed.file,
      ...(keyFile === undefined ? {} : { insecureKeyFile: keyFile }),
      sha256: placed.sha256,
      size: placed.size,
      addedAt: new Date().toISOString(),
      origin: 'converted',
      source: box.image,
    };
    try {
      return await commitBox(home, { dir: staging, meta }, false);
    } catch (e) {
      // Another process converted it meanwhile.
      const now = readEntry(home, box.name, box.version, 'qemu');
      if (e instanceof BoxfestError && e.code === 'BOX_EXISTS' && now !== undefined) return now;
      throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
