// Typed errors. Everything a user can cause or fix is a BoxfestError with a code and a hint;
// only src/cli.ts renders them (no stack traces for user errors).

/**
 * Every error code boxfest uses, by area; docs/errors.md lists each with its hint, and a unit
 * test holds the two together. A new code goes here and there.
 */
export const ERROR_CODES = [
  ...['USAGE', 'INTERNAL', 'INTERRUPTED', 'MACHINES_FAILED', 'NOT_CONFIRMED', 'UNKNOWN_MACHINE'],
  ...['PROJECT_LOCKED', 'HOST_LOCK_TIMEOUT', 'BOXFILE_NOT_FOUND', 'BOXFILE_UNREADABLE', 'CONFIG_INVALID'],
  ...['BOXFILE_EXISTS', 'BOXFILE_UNWRITABLE'],
  ...['BOXFILE_NOT_A_FILE', 'UNSUPPORTED_HOST'],
  // Project state
  ...['PROJECT_STATE_UNSAFE', 'PROJECT_STATE_UNREADABLE', 'STATE_CORRUPT', 'LEASES_CORRUPT', 'PORTS_CORRUPT'],
  ...['UNSAFE_NAME'],
  ...['BOX_DISK_INTERFACE', 'BOX_EXISTS', 'BOX_FORMAT', 'BOX_IMAGE_MISSING', 'BOX_IN_USE', 'BOX_KEY_MISSING'],
  ...['BOX_NAME', 'BOX_NOT_FOUND', 'MACHINE_NOT_CREATED', 'MACHINE_NOT_READY', 'MACHINE_NOT_RUNNING'],
  ...['BOX_VERSION', 'BOX_VERSION_CONSTRAINT', 'BOX_METADATA', 'BOX_SOURCE_MISSING', 'BOX_SSH_USER'],
  ...['BOX_CATALOG', 'BOX_CATALOG_NO_FIT', 'BOX_CHECKSUM', 'BOX_CHECKSUM_TYPE', 'BOX_CHECKSUM_FORMAT'],
  ...['BOX_ARCHIVE', 'BOX_ARCHIVE_HOSTILE', 'BOX_LAYOUT', 'BOX_EXTERNAL_REFERENCE', 'BOX_CA_CERT'],
  ...['BOX_PRUNE_CONFIRM', 'DOWNLOAD_FAILED', 'DOWNLOAD_STALLED', 'DOWNLOAD_TLS', 'DOWNLOAD_HTTP'],
  ...['DOWNLOAD_TRUNCATED', 'PACKAGE_EXISTS', 'PACKAGE_INCLUDE', 'PACKAGE_NOT_HALTED'],
  ...['RELOAD_REQUIRED', 'RECREATE_REQUIRED', 'PROVIDER_CANNOT', 'SNAPSHOT_EXISTS', 'SNAPSHOT_NAME'],
  ...['SNAPSHOT_NOT_FOUND', 'NETWORK_FULL', 'NO_FREE_PORT', 'PORT_IN_USE', 'BRIDGED_NO_ADDRESS'],
  ...['SSH_AUTH_FAILED', 'SSH_CONNECTION_LOST', 'SSH_EXEC_FAILED', 'SSH_HOSTKEY_MISMATCH', 'SSH_TIMEOUT'],
  ...['SSH_CONFIG_UNSAFE', 'SSH_NOT_GREETED'],
  ...['SSH_KEY_REPLACE_FAILED', 'SSH_MASTER_FAILED', 'GUEST_COMMAND_FAILED', 'GUEST_RSYNC_MISSING'],
  ...['RSYNC_FAILED', 'RSYNC_NOT_INSTALLED', 'PATH_UNSUPPORTED', 'NOTHING_TO_WATCH', 'UNKNOWN_PROVISIONER'],
  ...['ANSIBLE_NOT_FOUND', 'ANSIBLE_LOCAL_NOT_FOUND', 'ANSIBLE_FAILED', 'ANSIBLE_NO_HOSTS'],
  ...['PROVISION_ENV_NAME', 'PROVISION_FAILED', 'PROVISION_FILE_FAILED', 'PROVISION_SCRIPT_UNREADABLE'],
  ...['PROVISION_UPLOAD_FAILED', 'INSTANT_NO_RESEED', 'INSTANT_RESTORE_FAILED', 'INSTANT_SAVE_FAILED'],
  ...['REIDENTIFY_FAILED', 'GUEST_SHARE_UNSUPPORTED', 'TRIGGER_FAILED', 'INSTANT_NO_SSHD', 'HOST_KEY_FAILED'],
  // cloud images and disks
  ...['BOX_FIRST_BOOT', 'CLOUD_INIT_UNSUPPORTED', 'CLOUD_INIT_ROOT', 'CLOUD_INIT_WAIT_FAILED'],
  ...['CLOUD_INIT_FAILED', 'GROW_DISK_FAILED', 'DISK_SHRINK'],
  // QEMU
  ...['QEMU_NOT_INSTALLED', 'QEMU_EXEC_FAILED', 'QEMU_TOOL_FAILED', 'QMP_ERROR', 'QMP_TIMEOUT'],
  ...['QMP_UNAVAILABLE', 'BRIDGE_NOT_FOUND', 'BRIDGE_NOT_ALLOWED', 'BRIDGE_HELPER_MISSING'],
  ...['BRIDGE_HELPER_NOT_SETUID', 'VDE_NOT_INSTALLED', 'SWITCH_START_FAILED', 'VIRTIOFSD_FAILED'],
  // libvirt: the daemon's errors by kind (providers/libvirt/errors.ts), then boxfest's own
  ...['LIBVIRT_ERROR', 'LIBVIRT_UNREACHABLE', 'LIBVIRT_CONNECTION_LOST', 'LIBVIRT_TIMEOUT', 'LIBVIRT_BUSY'],
  ...['LIBVIRT_ACCESS_DENIED', 'LIBVIRT_UNSUPPORTED', 'LIBVIRT_XML_REJECTED', 'LIBVIRT_INVALID_STATE'],
  ...['LIBVIRT_NO_DOMAIN', 'LIBVIRT_NO_NETWORK', 'LIBVIRT_NO_POOL', 'LIBVIRT_NO_VOLUME', 'LIBVIRT_NOT_OURS'],
  ...['LIBVIRT_NO_ADDRESS', 'LIBVIRT_DISK_BUS', 'LIBVIRT_NETWORK_IN_USE', 'LIBVIRT_NO_INTERFACE'],
  ...['LIBVIRT_BOX_VOLUME', 'FORWARDER_FAILED', 'LIBVIRT_SPAN_FAILED', 'LIBVIRT_SEED_VOLUME'],
  // libvirt on a remote host over SSH (providers/libvirt/remote-host.ts, rpc/transport.ts)
  ...['SSH_HOST_UNREACHABLE', 'SSH_HOST_AUTH_FAILED', 'SSH_HOST_NO_KEY', 'SSH_HOST_KEY'],
  ...['SSH_HOST_HOSTKEY_MISMATCH', 'SSH_HOST_KNOWN_HOSTS', 'LIBVIRT_SSH_NO_SOCKET'],
  ...['SSH_HOST_FORWARD_FAILED'],
  // VirtualBox: boxfest's own codes, then the server's result codes by name
  ...['VBOX_UNREACHABLE', 'VBOX_BAD_WSDL', 'VBOX_HTTP_ERROR', 'VBOX_UNSUPPORTED_API', 'VBOX_TIMEOUT'],
  ...['VBOX_TLS_UNTRUSTED', 'VBOX_CA_UNREADABLE'],
  ...['VBOX_UNSUPPORTED_OPERATION', 'VBOX_LOGON_FAILED', 'VBOX_INVALID_OBJECT', 'VBOX_FAULT'],
  ...['VBOX_MACHINE_MISSING', 'VBOX_NOT_OURS', 'VBOX_NO_HOST_INTERFACE', 'VBOX_HOST_ONLY_UNAVAILABLE'],
  ...['VBOX_NO_KERNEL_DRIVER', 'VBOX_E_OBJECT_NOT_FOUND', 'VBOX_E_INVALID_VM_STATE', 'VBOX_E_VM_ERROR'],
  ...['VBOX_E_FILE_ERROR', 'VBOX_E_IPRT_ERROR', 'VBOX_E_PDM_ERROR', 'VBOX_E_INVALID_OBJECT_STATE'],
  ...['VBOX_E_HOST_ERROR', 'VBOX_E_NOT_SUPPORTED', 'VBOX_E_XML_ERROR', 'VBOX_E_INVALID_SESSION_STATE'],
  ...['VBOX_E_OBJECT_IN_USE', 'VBOX_E_PASSWORD_INCORRECT', 'VBOX_E_MAXIMUM_REACHED', 'VBOX_E_TIMEOUT'],
  ...['VBOX_E_GSTCTL_GUEST_ERROR', 'VBOX_E_DND_ERROR', 'VBOX_E_PLATFORM_ARCH_NOT_SUPPORTED'],
  ...['VBOX_E_RECORDING_ERROR', 'E_ACCESSDENIED', 'E_FAIL', 'E_INVALIDARG', 'E_NOTIMPL', 'E_OUTOFMEMORY'],
  ...['E_POINTER', 'E_NOINTERFACE', 'E_UNEXPECTED'],
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Errors that say the hypervisor (a libvirt host, a vboxwebsrv) could not be reached or logged
 * into, rather than anything about a machine: commands that can go on without that host report
 * its machines `unknown` with the reason and carry on with the others.
 */
const HOST_UNREACHABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LIBVIRT_UNREACHABLE',
  'LIBVIRT_CONNECTION_LOST',
  'LIBVIRT_TIMEOUT',
  'LIBVIRT_SSH_NO_SOCKET',
  'SSH_HOST_UNREACHABLE',
  'SSH_HOST_AUTH_FAILED',
  'SSH_HOST_NO_KEY',
  'SSH_HOST_KEY',
  'SSH_HOST_HOSTKEY_MISMATCH',
  'SSH_HOST_KNOWN_HOSTS',
  'VBOX_UNREACHABLE',
  'VBOX_TLS_UNTRUSTED',
  'VBOX_TIMEOUT',
]);

export function isHostUnreachable(e: unknown): e is BoxfestError {
  return e instanceof BoxfestError && HOST_UNREACHABLE.has(e.code);
}

export function isErrorCode(s: string): s is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(s);
}

export interface ErrorContext {
  /** Machine the failure belongs to, when there is one. */
  machine?: string | undefined;
  /** Pipeline step or command that failed. */
  step?: string | undefined;
  /** What the user can do next. */
  hint?: string | undefined;
  /** Extra lines shown under the message (a log tail, a tool's own output). */
  details?: string | undefined;
  cause?: unknown;
}

export class BoxfestError extends Error {
  readonly code: ErrorCode;
  readonly machine: string | undefined;
  readonly step: string | undefined;
  readonly hint: string | undefined;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = 'BoxfestError';
    this.code = code;
    this.machine = ctx.machine;
    this.step = ctx.step;
    this.hint = ctx.hint;
    this.details = ctx.details;
  }

  /** The same error, attributed to a machine and step (keeps the original code and hint). */
  withContext(ctx: { machine?: string; step?: string }): BoxfestError {
    const e = new BoxfestError(this.code, this.message, {
      machine: this.machine ?? ctx.machine,
      step: this.step ?? ctx.step,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
      cause: this.cause,
    });
    return e;
  }
}

/** One problem in a Boxfile, with its position. Lines and columns are 1-based. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Key path such as `machines.web.memory` or `machines.web.provision[0].run`. */
  path: string;
  message: string;
  hint?: string | undefined;
}

export class ConfigError extends BoxfestError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], message = `the Boxfile has ${issues.length} problem(s)`) {
    super('CONFIG_INVALID', message, {
      hint: 'fix the Boxfile and run the command again; no machine was touched',
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Thrown to end the process with a given exit code after output was already shown. */
export class ExitError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
