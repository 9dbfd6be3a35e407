// Bridged networks on QEMU: a tap on an existing host bridge, made by qemu-bridge-helper (setuid
// root, and only for bridges its ACL allows). Everything that would make the helper fail is
// checked before the VM starts, so the user gets the reason instead of QEMU's "bridge helper failed".
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BoxfestError } from '../../errors.js';
import { BRIDGE_HELPER } from './exec.js';

export const BRIDGE_ACL = '/etc/qemu/bridge.conf';

/** The helper command: BOXFEST_QEMU_BRIDGE_HELPER (a command line, e.g. run inside a netns) or Debian's. */
export function bridgeHelper(env: NodeJS.ProcessEnv): string {
  const h = env['BOXFEST_QEMU_BRIDGE_HELPER'];
  return h !== undefined && h !== '' ? h : BRIDGE_HELPER;
}

/**
 * Whether qemu-bridge-helper's ACL allows `bridge`, as the helper reads it: `allow NAME|all` and
 * `deny NAME|all` lines, where a matching deny wins wherever it stands and nothing is allowed by
 * default; a line is a comment only when it starts with `#` (a trailing `# ...` is part of the
 * name); `include FILE` reads another file (relative names against the including file's folder).
 */
export function aclAllows(
  bridge: string,
  read: (file: string) => string | undefined,
  file = BRIDGE_ACL,
): boolean {
  let allowed = false;
  let denied = false;
  const visit = (f: string, depth: number) => {
    const text = read(f);
    if (text === undefined || depth > 8) return;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('#')) continue;
      const space = line.search(/\s/);
      if (space < 0) continue;
      const verb = line.slice(0, space);
      const arg = line.slice(space).trim();
      if (verb === 'include') visit(resolve(dirname(f), arg), depth + 1);
      else if (arg === bridge || arg === 'all') {
        if (verb === 'allow') allowed = true;
        else if (verb === 'deny') denied = true;
      }
    }
  };
  visit(file, 0);
  return allowed && !denied;
}

const readOrUndefined = (f: string) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};

/** Throws, naming the machine's network and the fix, when QEMU could not attach to `bridge`. */
export function checkBridge(machine: string, network: string, bridge: string, helper: string): void {
  const custom = helper !== BRIDGE_HELPER;
  // A custom helper may run elsewhere (another network namespace): its bridge is not ours to see.
  if (!custom && !existsSync(`/sys/class/net/${bridge}/bridge`))
    throw new BoxfestError(
      'BRIDGE_NOT_FOUND',
      existsSync(`/sys/class/net/${bridge}`)
        ? `host interface \`${bridge}\` (network \`${network}\`) is not a bridge`
        : `host bridge \`${bridge}\` (network \`${network}\`) does not exist`,
      {
        machine,
        hint: `QEMU attaches bridged machines to a Linux bridge: create one (e.g. \`ip link add ${bridge} type bridge && ip link set ${bridge} up\`, then enslave your LAN interface), or set \`networks.${network}.interface\` to an existing bridge (\`ip -br link show type bridge\`)`,
      },
    );
  if (!aclAllows(bridge, readOrUndefined))
    throw new BoxfestError(
      'BRIDGE_NOT_ALLOWED',
      `QEMU's bridge helper is not allowed to use bridge \`${bridge}\` (network \`${network}\`)`,
      { machine, hint: `add the line \`allow ${bridge}\` to ${BRIDGE_ACL} (as root)` },
    );
  if (!custom) {
    if (!existsSync(BRIDGE_HELPER))
      throw new BoxfestError('BRIDGE_HELPER_MISSING', `${BRIDGE_HELPER} is missing`, {
        machine,
        hint: 'it ships with QEMU: `apt-get install qemu-system-x86`',
      });
    const setuid = (statSync(BRIDGE_HELPER).mode & 0o4000) !== 0;
    if (process.getuid?.() !== 0 && !setuid)
      throw new BoxfestError('BRIDGE_HELPER_NOT_SETUID', `${BRIDGE_HELPER} is not setuid root`, {
        machine,
        hint: `a non-root user needs it setuid to create taps: \`chmod u+s ${BRIDGE_HELPER}\` (as root)`,
      });
  }
}
