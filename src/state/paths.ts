// Every on-disk name boxfest's shared layers use, named once (like Lima's filenames.go): only what
// every provider has. Each provider names its own files in providers/<name>/paths.ts, under the
// directories given here. Nothing else in the code base joins path segments for boxfest's files.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
  /** Empty files named by the hash of (schema, Boxfile document) pairs that passed validation. */
  validBoxfiles: join(home, 'cache', 'valid-boxfiles'),
  /** Host ports boxfest machines forward, with the process holding each (see network/ports.ts). */
  ports: join(home, 'ports.json'),
  /** Held while a boxfest process chooses host ports and reserves them. */
  portsLock: join(home, 'locks', 'ports.lock'),
  /** The global index: one file per project that has had machines, read by `global-status`. */
  projects: join(home, 'projects'),
});

export const validBoxfileMark = (home: string, key: string) => join(homePaths(home).validBoxfiles, key);

/** The index entry of one project, named by a hash of its root so each project has exactly one. */
export const projectIndexEntry = (home: string, root: string) =>
  join(homePaths(home).projects, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`);

/** Store layout of one box: boxes/<name>/<version>/<provider>/ (room for versions and providers). */
export const boxPaths = (home: string, name: string, version: string, provider: string) => {
  const dir = join(home, 'boxes', name, version, provider);
  return {
    dir,
    metadata: join(dir, 'metadata.json'),
    image: join(dir, 'box.qcow2'),
    insecureKey: join(dir, 'insecure_key'),
    /** One file per machine of this provider made from the box, so `box remove` can refuse while one exists. */
    users: join(dir, 'users'),
  };
};

export const PROJECT_DIR = '.boxfest';

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
  const dir = join(root, PROJECT_DIR, 'networks', network);
  return {
    dir,
    /** Addresses boxfest allocated on this network (`dhcp: true`): machine → IPv4. */
    leases: join(dir, 'leases.json'),
  };
};

/** A machine's own directory; its provider keeps its files (disk, process, logs) there too. */
export const machinePaths = (root: string, machine: string) => {
  const dir = join(root, PROJECT_DIR, 'machines', machine);
  return {
    dir,
    /** Applied spec and progress; written atomically. */
    state: join(dir, 'state.json'),
    privateKey: join(dir, 'id_ed25519'),
    publicKey: join(dir, 'id_ed25519.pub'),
    knownHosts: join(dir, 'known_hosts'),
    sshConfig: join(dir, 'ssh_config'),
    /** cloud-init boxes: the NoCloud seed (ISO 9660, label cidata), rewritten before each boot. */
    seed: join(dir, 'cidata.iso'),
  };
};

export type MachinePaths = ReturnType<typeof machinePaths>;
