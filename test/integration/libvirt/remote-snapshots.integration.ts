// The suspend/resume and snapshot scenario (scenarios/suspend-snapshot.ts) on a remote libvirt
// host over SSH (#16: snapshots among the commands that work on a remote host's machines).
import { suspendSnapshotScenario } from '../scenarios/suspend-snapshot.js';
import { remotePath, remoteTarget } from './remote-target.js';

suspendSnapshotScenario(remoteTarget(remotePath().uri));
