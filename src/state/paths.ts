// Every on-disk name boxfest's shared layers use, named once (like Lima's filenames.go): only what
// every provider has. Each provider names its own files in providers/<name>/paths.ts, under the
// directories given here. Nothing else in the code base joins path segments for boxfest's files.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BoxfestError } from '../errors.js';

/** Per-user home: box store, caches, locks. `BOXFEST_HOME` relocates all of it. */
export function boxfestHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['BOXFEST_HOME'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.boxfest');
}

export const homePaths = (home: string) => ({
  boxes: join(home, 'boxes'),
  /** Caches a provider may rebuild at any time (`cache/<what>`). */
  cache: join(home, 'cache'),
  locks: join(home, 'locks'),
  /**
   * Host keys of SSH servers boxfest works through (remote libvirt hosts) that the user's
   * ~/.ssh/known_hosts does not list: pinned on first contact, checked on every later one
   * (ssh/host-link.ts). OpenSSH's format: `ssh-keygen -R '[HOST]:PORT' -f FILE` removes an entry.
   */
  knownHosts: join(home, 'known_hosts'),
  /** Empty files named by the hash of (schema, Boxfile document) pairs that passed validation. */
  validBoxfiles: join(home, 'cache', 'valid-boxfiles'),
  /** Host ports boxfest machines forward, with the process holding each (see network/ports.ts). */
  ports: join(home, 'ports.json'),
  /** Held while a boxfest process chooses host ports and reserves them. */
  portsLock: join(home, 'locks', 'ports.lock'),
  /** Held while the box store changes (a box goes in or out, a machine starts or stops using one). */
  boxesLock: join(home, 'locks', 'boxes.lock'),
  /** Box files being downloaded (`<key>.partial`, resumed with HTTP ranges) and their `<key>.json`. */
  downloads: join(home, 'cache', 'downloads'),
  /** Archives being unpacked and images being converted, on the store's file system (renamed in). */
  boxesStaging: join(home, 'boxes', '.staging'),
  /** The global index: one file per project that has had machines, read by `global-status`. */
  projects: join(home, 'projects'),
});

/** A download in progress, by a hash of its URL. */
export const downloadPaths = (home: string, key: string) => ({
  partial: join(homePaths(home).downloads, `${key}.partial`),
  /** URL, ETag and Last-Modified of the partial file: a resume must be of the same file. */
  meta: join(homePaths(home).downloads, `${key}.json`),
  lock: join(homePaths(home).locks, `download-${key}.lock`),
});

export const validBoxfileMark = (home: string, key: string) => join(homePaths(home).validBoxfiles, key);

/** The index entry of one project, named by a hash of its root so each project has exactly one. */
export const projectIndexEntry = (home: string, root: string) =>
  join(homePaths(home).projects, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`);

/**
 * A box name as a directory: `org/name` (Vagrant Cloud style) becomes `org+name`, one level, and
 * `+` is never in a valid name, so the mapping is one to one. Names are checked before this
 * (boxes/name.ts).
 */
export const boxDirName = (name: string) => name.replace('/', '+');
export const boxNameOfDir = (dir: string) => dir.replace('+', '/');

/** Every version of one box: boxes/<name>/. */
export const boxRoot = (home: string, name: string) => join(home, 'boxes', boxDirName(name));

/** Store layout of one box: boxes/<name>/<version>/<provider>/. */
export const boxPaths = (home: string, name: string, version: string, provider: string) => {
  const dir = join(boxRoot(home, name), version, provider);
  return {
    dir,
    /** The entry: what `box list` shows and new machines use (see boxes/store.ts). */
    metadata: join(dir, 'metadata.json'),
    /** The image of a box stored before images were named by content (then it is `box.qcow2`). */
    image: join(dir, 'box.qcow2'),
    /** An image file named by its content, so a replaced image stays where its overlays point. */
    imageOf: (sha256: string, ext: string) => join(dir, `box-${sha256.slice(0, 16)}.${ext}`),
    /** Metadata of an image that a newer one replaced (`box add --force`) while machines used it. */
    previous: (sha256: string) => join(dir, `previous-${sha256.slice(0, 16)}.json`),
    insecureKey: join(dir, 'insecure_key'),
    insecureKeyOf: (sha256: string) => join(dir, `insecure_key-${sha256.slice(0, 16)}`),
    /** One record per machine made from an image of this entry, so `box remove` can refuse while one exists. */
    users: join(dir, 'users'),
    /** What a provider keeps with the entry and goes with its image (QEMU's saved states: providers/qemu/paths.ts). */
    states: join(dir, 'states'),
  };
};

export const PROJECT_DIR = '.boxfest';

/**
 * A name that becomes one path segment under `.boxfest/` (a machine, a network). The Boxfile's
 * rules only let DNS labels through; this catches any other way a name could arrive (a state
 * file, a hand-edited record) before it can climb out of the directory.
 */
function segment(kind: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw new BoxfestError('UNSAFE_NAME', `${JSON.stringify(name)} cannot be a ${kind} name`, {
      hint: `a ${kind} name is a DNS label: lowercase letters, digits and hyphens`,
    });
  return name;
}

export const projectPaths = (root: string) => {
  const dir = join(root, PROJECT_DIR);
  return {
    dir,
    machines: join(dir, 'machines'),
    /** One directory per private network: its address allocations, and what its provider keeps there. */
    networks: join(dir, 'networks'),
    /** Held by the one mutating command running in this project. */
    lock: join(dir, 'lock'),
  };
};

export const networkPaths = (root: string, network: string) => {
  const dir = join(root, PROJECT_DIR, 'networks', segment('network', network));
  return {
    dir,
    /** Addresses boxfest allocated on this network (`dhcp: true`): machine → IPv4. */
    leases: join(dir, 'leases.json'),
  };
};

/** A machine's own directory; its provider keeps its files (disk, process, logs) there too. */
export const machinePaths = (root: string, machine: string) => {
  const dir = join(root, PROJECT_DIR, 'machines', segment('machine', machine));
  return {
    dir,
    /** Applied spec and progress; written atomically. */
    state: join(dir, 'state.json'),
    privateKey: join(dir, 'id_ed25519'),
    publicKey: join(dir, 'id_ed25519.pub'),
    /** cloud-init boxes: the SSH host key boxfest made for the machine, handed over in its seed. */
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    hostKeyPublic: join(dir, 'ssh_host_ed25519_key.pub'),
    knownHosts: join(dir, 'known_hosts'),
    sshConfig: join(dir, 'ssh_config'),
    /** cloud-init boxes: the NoCloud seed (ISO 9660, label cidata), rewritten before each boot. */
    seed: join(dir, 'cidata.iso'),
    /**
     * ssh-key boxes on a provider that can hand files to a first boot (QEMU fw_cfg): the machine's
     * identity (guest/offered-identity.ts), from before its first boot until its guest answers.
     */
    identity: join(dir, 'identity'),
  };
};

export type MachinePaths = ReturnType<typeof machinePaths>;

/**
 * What an `ansible` provisioner run hands to `ansible-playbook` on the host: the inventory (kept,
 * so `ansible-playbook -i` can be run by hand) and the extra vars (private, removed after the run).
 * `run` is `environment` for the once-for-all run, `machine-<name>` for a per-machine one.
 */
export const ansiblePaths = (root: string, run: string) => {
  const dir = join(root, PROJECT_DIR, 'ansible');
  return {
    dir,
    inventory: join(dir, `${segment('ansible run', run)}.inventory.json`),
    extraVars: join(dir, `${segment('ansible run', run)}.extra-vars.json`),
  };
};
