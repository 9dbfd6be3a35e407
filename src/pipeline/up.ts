// The `up` pipeline of one machine: a flat list; steps skip themselves when their work is done,
// so the same list creates, starts, resumes, reloads, recreates, or finishes an interrupted `up`.
import type { Step } from './step.js';
import type { MachineRun } from './machine-run.js';
import { resolveBox } from './steps/resolve-box.js';
import { importBox } from './steps/import-box.js';
import { discard } from './steps/discard.js';
import { reloadHalt } from './steps/reload-halt.js';
import { resume } from './steps/resume.js';
import { configure } from './steps/configure.js';
import { create } from './steps/create.js';
import { boot } from './steps/boot.js';
import { offerIdentity } from './steps/offer-identity.js';
import { waitSsh } from './steps/wait-ssh.js';
import { replaceKey } from './steps/replace-key.js';
import { setHostname } from './steps/set-hostname.js';
import { configureNetwork } from './steps/configure-network.js';
import { prepareInstant } from './steps/prepare-instant.js';
import { reidentify } from './steps/reidentify.js';
import { hostKey } from './steps/host-key.js';
import { syncFolders } from './steps/sync-folders.js';
import { provision } from './steps/provision.js';
import { finish } from './steps/finish.js';
import { writeSeedStep } from './steps/write-seed.js';
import { waitCloudInit } from './steps/wait-cloud-init.js';
import { growDisk } from './steps/grow-disk.js';

export const upPipeline: Step<MachineRun>[] = [
  // The box first: a missing box fails before anything of the old machine is discarded.
  resolveBox,
  importBox,
  discard,
  reloadHalt,
  resume,
  configure,
  prepareInstant,
  // Before the machine is created: VirtualBox attaches the seed as a DVD when it creates the VM.
  writeSeedStep,
  create,
  // ssh-key boxes: what cloud-init boxes get in their seed, where a first boot can read it.
  offerIdentity,
  boot,
  waitSsh,
  reidentify,
  hostKey,
  replaceKey,
  // cloud-init boxes: nothing else touches the guest until cloud-init is done.
  waitCloudInit,
  growDisk,
  setHostname,
  configureNetwork,
  syncFolders,
  provision,
  finish,
];

/** `provision` and `rsync` on a running machine: connect, then do just that part. */
export const provisionPipeline: Step<MachineRun>[] = [waitSsh, provision];
