// The QEMU provider's one choke point for external programs (qemu-img, qemu-system-*, vde_switch):
// every spawn goes through here, and every failure becomes a BoxfestError with a code and a hint.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { BoxfestError, type ErrorCode } from '../../errors.js';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

const INSTALL_HINT = 'install QEMU: `apt-get install qemu-system-x86 qemu-utils` (Debian/Ubuntu)';

export function runTool(
  tool: string,
  args: readonly string[],
  what: string,
  opts: { timeoutMs?: number; missing?: { code: ErrorCode; hint: string } } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new BoxfestError(
              opts.missing?.code ?? 'QEMU_NOT_INSTALLED',
              `${tool} is not installed (needed to ${what})`,
              {
                hint: opts.missing?.hint ?? INSTALL_HINT,
              },
            )
          : new BoxfestError('QEMU_EXEC_FAILED', `could not run ${tool} to ${what}: ${e.message}`, {
              cause: e,
            }),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new BoxfestError('QEMU_TOOL_FAILED', `${tool} ${how} while trying to ${what}`, {
          details: stderr.trim(),
          hint: hintFor(stderr),
        }),
      );
    });
  });
}

/** Hints for the failures people actually meet. */
function hintFor(stderr: string): string {
  if (/Could not set up host forwarding rule/i.test(stderr))
    return 'the forwarded SSH port was taken meanwhile; run the command again';
  if (/Failed to get "write" lock|Is another process using the image/i.test(stderr))
    return 'another QEMU process has this disk open; `boxfest status` shows which machine is running';
  if (/Could not access KVM kernel module|failed to initialize kvm/i.test(stderr))
    return 'KVM is not usable here; set BOXFEST_QEMU_ACCEL=tcg to use software emulation';
  if (/No space left on device/i.test(stderr)) return 'free some disk space and run the command again';
  if (/bridge helper failed|access denied by acl file|failed to add interface .* to bridge/i.test(stderr))
    return "QEMU's bridge helper could not attach the machine to the bridge: the bridge must exist and be allowed in /etc/qemu/bridge.conf (`allow BRIDGE`), and a non-root user needs the helper setuid root";
  if (/Could not open vde|vde_open/i.test(stderr))
    return "the network's virtual switch is gone; run `boxfest up` again to restart it";
  return 'see the message from QEMU above';
}

export const QEMU_SYSTEM = 'qemu-system-x86_64';
export const QEMU_IMG = 'qemu-img';
export const VDE_SWITCH = 'vde_switch';
/** Debian's path; BOXFEST_QEMU_BRIDGE_HELPER overrides it (e.g. to run it inside a network namespace). */
export const BRIDGE_HELPER = '/usr/lib/qemu/qemu-bridge-helper';
/** Debian's virtiofsd (QEMU 7.2's C daemon); BOXFEST_VIRTIOFSD overrides it (e.g. the Rust one). */
export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';

/**
 * Starts `tool` as a daemon of its own (detached, own session, output to `log`) and returns its
 * PID once spawned; the caller checks it came up. For daemons that cannot write a pidfile.
 */
export function startDaemon(
  tool: string,
  args: readonly string[],
  log: string,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = openSync(log, 'w');
    const child = spawn(tool, args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new BoxfestError('QEMU_NOT_INSTALLED', `${tool} is not installed (needed to ${what})`, {
              hint: 'install it: `apt-get install qemu-system-common` (Debian 12 ships virtiofsd there)',
            })
          : new BoxfestError('QEMU_EXEC_FAILED', `could not run ${tool} to ${what}: ${e.message}`, {
              cause: e,
            }),
      ),
    );
    child.on('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  });
}
