// libvirt failures → boxfest's typed errors, in one table (used by client.ts, the choke point).
// The daemon sends virErrorNumber codes (include/libvirt/virterror.h), so nothing here depends on
// the daemon's language.
import { BoxfestError, type ErrorCode } from '../../errors.js';
import { CallTimeoutError, ConnectionClosedError, RemoteCallError } from './rpc/connection.js';
import { procName } from './rpc/procedures.js';
import { TransportError } from './rpc/transport.js';

/** The virErrorNumber values boxfest tells apart, by name. */
export const VIR_ERR = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  NO_DOMAIN_SNAPSHOT: 72,
  NO_INTERFACE: 57,
  NO_DOMAIN_METADATA: 80,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  STORAGE_VOL_EXIST: 90,
  XML_INVALID_SCHEMA: 92,
  AUTH_UNAVAILABLE: 94,
  AGENT_UNSYNCED: 97,
} as const;

const NAMES = new Map<number, string>(Object.entries(VIR_ERR).map(([k, v]) => [v, `VIR_ERR_${k}`]));

interface Mapping {
  code: ErrorCode;
  hint: string;
}

const GENERIC: Mapping = {
  code: 'LIBVIRT_ERROR',
  hint: "see libvirt's message; the daemon's log (journalctl -u libvirtd, or /var/log/libvirt/) has more",
};

const BY_NUMBER = new Map<number, Mapping>([
  [
    VIR_ERR.NO_DOMAIN,
    {
      code: 'LIBVIRT_NO_DOMAIN',
      hint: 'it was removed outside boxfest? `boxfest status` shows what is left',
    },
  ],
  [
    VIR_ERR.NO_NETWORK,
    {
      code: 'LIBVIRT_NO_NETWORK',
      hint: 'it was removed outside boxfest? `boxfest up` makes the networks it needs',
    },
  ],
  [
    VIR_ERR.NO_STORAGE_POOL,
    {
      code: 'LIBVIRT_NO_POOL',
      hint: 'create the pool (virsh pool-define-as default dir --target /var/lib/libvirt/images && virsh pool-start default), or set `libvirt.pool` to an existing one',
    },
  ],
  [
    VIR_ERR.NO_STORAGE_VOL,
    {
      code: 'LIBVIRT_NO_VOLUME',
      hint: 'it was removed outside boxfest? `boxfest up` recreates a machine whose disk is gone',
    },
  ],
  [
    VIR_ERR.NO_DOMAIN_SNAPSHOT,
    { code: 'SNAPSHOT_NOT_FOUND', hint: "`boxfest snapshot list` shows the machine's snapshots" },
  ],
  [
    VIR_ERR.NO_DOMAIN_METADATA,
    { code: 'LIBVIRT_NOT_OURS', hint: 'boxfest never changes a domain it did not create' },
  ],
  [
    VIR_ERR.OPERATION_INVALID,
    { code: 'LIBVIRT_INVALID_STATE', hint: '`boxfest status`, then halt or up as needed' },
  ],
  [
    VIR_ERR.AUTH_FAILED,
    { code: 'LIBVIRT_ACCESS_DENIED', hint: 'run as root, or join the `libvirt` group (then log in again)' },
  ],
  [
    VIR_ERR.AUTH_UNAVAILABLE,
    { code: 'LIBVIRT_ACCESS_DENIED', hint: 'run as root, or join the `libvirt` group (then log in again)' },
  ],
  [
    VIR_ERR.ACCESS_DENIED,
    { code: 'LIBVIRT_ACCESS_DENIED', hint: 'run as root, or join the `libvirt` group (then log in again)' },
  ],
  [
    VIR_ERR.OPERATION_DENIED,
    { code: 'LIBVIRT_ACCESS_DENIED', hint: 'the daemon refused this operation to this user' },
  ],
  [
    VIR_ERR.CONFIG_UNSUPPORTED,
    { code: 'LIBVIRT_UNSUPPORTED', hint: "the host's QEMU or libvirt cannot do this; see the message" },
  ],
  [
    VIR_ERR.NO_SUPPORT,
    { code: 'LIBVIRT_UNSUPPORTED', hint: 'upgrade libvirt on the host (boxfest needs 3.0 or newer)' },
  ],
  [
    VIR_ERR.RPC,
    { code: 'LIBVIRT_UNSUPPORTED', hint: 'upgrade libvirt on the host (boxfest needs 3.0 or newer)' },
  ],
  [
    VIR_ERR.XML_ERROR,
    {
      code: 'LIBVIRT_XML_REJECTED',
      hint: 'libvirt refused the XML boxfest made: please report this with the message',
    },
  ],
  [
    VIR_ERR.XML_INVALID_SCHEMA,
    {
      code: 'LIBVIRT_XML_REJECTED',
      hint: 'libvirt refused the XML boxfest made: please report this with the message',
    },
  ],
  [
    VIR_ERR.RESOURCE_BUSY,
    { code: 'LIBVIRT_BUSY', hint: 'another client is working on it; run the command again' },
  ],
  [
    VIR_ERR.OPERATION_TIMEOUT,
    { code: 'LIBVIRT_BUSY', hint: 'another client is working on it; run the command again' },
  ],
]);

/** A BoxfestError for any failure of a libvirt call (remote error, closed connection, timeout). */
export function libvirtError(e: unknown, proc: number | undefined, where: string): BoxfestError {
  const call = proc === undefined ? '' : ` (${procName(proc)})`;
  if (e instanceof BoxfestError) return e;
  if (e instanceof RemoteCallError) {
    const m = BY_NUMBER.get(e.error.code) ?? GENERIC;
    return new BoxfestError(m.code, `libvirt: ${e.error.message ?? `error ${e.error.code}`}`, {
      hint: m.hint,
      details: `libvirt error ${e.error.code} (${NAMES.get(e.error.code) ?? 'see virterror.h'})${call} at ${where}`,
      cause: e,
    });
  }
  if (e instanceof CallTimeoutError)
    return new BoxfestError(
      'LIBVIRT_TIMEOUT',
      `libvirt at ${where} did not answer${call} within ${e.timeoutMs / 1000} s`,
      {
        hint: 'the daemon may be overloaded or hung; run the command again (systemctl status libvirtd)',
        cause: e,
      },
    );
  if (e instanceof ConnectionClosedError)
    return new BoxfestError(
      'LIBVIRT_CONNECTION_LOST',
      `the connection to libvirt at ${where} was lost${call}`,
      {
        details: e.message,
        hint: 'did libvirtd stop or restart? run the command again once it runs',
        cause: e,
      },
    );
  if (e instanceof TransportError) {
    if (e.errno === 'EACCES' || e.errno === 'EPERM')
      return new BoxfestError('LIBVIRT_ACCESS_DENIED', `not allowed to connect to libvirt at ${e.target}`, {
        hint: 'run as root, or join the `libvirt` group (then log in again)',
        cause: e,
      });
    return new BoxfestError('LIBVIRT_UNREACHABLE', `no libvirt daemon answers at ${e.target}`, {
      details: e.message,
      hint: 'start it (systemctl start libvirtd, or virtqemud.socket), or set `libvirt.uri` / LIBVIRT_DEFAULT_URI to where it runs',
      cause: e,
    });
  }
  return new BoxfestError(
    'LIBVIRT_ERROR',
    `libvirt at ${where}${call}: ${e instanceof Error ? e.message : String(e)}`,
    {
      hint: GENERIC.hint,
      cause: e,
    },
  );
}

/** libvirt's own error number behind a mapped error (virterror.h), for the few cases told apart by it. */
export function virErrorNumber(e: unknown): number | undefined {
  const cause = e instanceof BoxfestError ? e.cause : e;
  return cause instanceof RemoteCallError ? cause.error.code : undefined;
}

/** Whether `e` is the mapped error `code` (e.g. a lookup of something that does not exist). */
export const isCode = (e: unknown, code: ErrorCode): e is BoxfestError =>
  e instanceof BoxfestError && e.code === code;
