// VirtualBox machine states (MachineState) as boxfest's MachineStatus.
import type { MachineStatus } from '../provider.js';

const RUNNING = new Set([
  'Running',
  'Paused',
  'Stuck',
  'Starting',
  'Stopping',
  'Saving',
  'Restoring',
  'LiveSnapshotting',
  'OnlineSnapshotting',
  'Teleporting',
  'TeleportingPausedVM',
  'TeleportingIn',
  'DeletingSnapshotOnline',
  'DeletingSnapshotPaused',
]);

export function statusOf(state: string): { status: MachineStatus; reason?: string } {
  if (RUNNING.has(state))
    return state === 'Running' ? { status: 'running' } : { status: 'running', reason: state };
  if (state === 'Aborted' || state === 'AbortedSaved')
    return { status: 'halted', reason: 'its VM process ended unexpectedly (Aborted)' };
  if (state === 'Saved') return { status: 'halted', reason: 'saved state' };
  return { status: 'halted' };
}
