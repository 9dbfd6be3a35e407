// Every on-disk name boxfest uses, named once (like Lima's filenames.go). Nothing else in the
// code base joins path segments for boxfest's own files.
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Per-user home: box store, caches, locks. `BOXFEST_HOME` relocates all of it. */
export function boxfestHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['BOXFEST_HOME'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.boxfest');
}

export const homePaths = (home: string) => ({
  boxes: join(home, 'boxes'),
  /** Host facts that are slow to probe (KVM usability), keyed by QEMU version. */
  hostFacts: join(home, 'host-facts.json'),
  locks: join(home, 'locks'),
  /** The VirtualBox web service's WSDL, trimmed to what boxfest uses, per API version. */
  vboxWsdl: join(home, 'cache', 'virtualbox-wsdl'),
});

/** Layout of the trimmed-WSDL cache: <api>-<operations key>/{vboxweb.wsdl, vboxwebService.wsdl, signatures.json}. */
export const vboxWsdlPaths = (home: string) => {
  const dir = homePaths(home).vboxWsdl;
  return {
    dir,
    /** Server URL → the API version it last reported, so the right cached WSDL loads first. */
    index: join(dir, 'servers.json'),
    version: (api: string, operationsKey: string) => join(dir, `${api}-${operationsKey}`),
  };
};

/** Store layout of one box: boxes/<name>/<version>/<provider>/ (room for versions and providers). */
export const boxPaths = (home: string, name: string, version: string, provider: string) => {
  const dir = join(home, 'boxes', name, version, provider);
  return {
    dir,
    metadata: join(dir, 'metadata.json'),
    image: join(dir, 'box.qcow2'),
    insecureKey: join(dir, 'insecure_key'),
    /** One file per machine disk backed by this box, so `box remove` can refuse while one exists. */
    users: join(dir, 'users'),
  };
};

export const PROJECT_DIR = '.boxfest';

export const projectPaths = (root: string) => {
  const dir = join(root, PROJECT_DIR);
  return {
    dir,
    machines: join(dir, 'machines'),
    /** Held by the one mutating command running in this project. */
    lock: join(dir, 'lock'),
  };
};

/** Unix socket paths are limited to 108 bytes; long project paths get a short one in tmpdir. */
const MAX_SOCKET_PATH = 100;

export const machinePaths = (root: string, machine: string) => {
  const dir = join(root, PROJECT_DIR, 'machines', machine);
  const qmpInDir = join(dir, 'qmp.sock');
  const qmp =
    Buffer.byteLength(qmpInDir) <= MAX_SOCKET_PATH
      ? qmpInDir
      : join(tmpdir(), `boxfest-${createHash('sha256').update(qmpInDir).digest('hex').slice(0, 16)}.qmp`);
  return {
    dir,
    /** Applied spec and progress; written atomically. */
    state: join(dir, 'state.json'),
    /** Copy-on-write overlay on the box image. */
    disk: join(dir, 'disk.qcow2'),
    pid: join(dir, 'qemu.pid'),
    qmp,
    serialLog: join(dir, 'serial.log'),
    /** The exact QEMU command line of the last boot, for debugging. */
    qemuCmd: join(dir, 'qemu.cmd'),
    privateKey: join(dir, 'id_ed25519'),
    publicKey: join(dir, 'id_ed25519.pub'),
    knownHosts: join(dir, 'known_hosts'),
    sshConfig: join(dir, 'ssh_config'),
  };
};

export type MachinePaths = ReturnType<typeof machinePaths>;
