// SOAP faults from vboxwebsrv as typed errors: the code is the result code by name
// (`VBOX_E_OBJECT_NOT_FOUND`, `E_ACCESSDENIED`, ...; `VBOX_FAULT` for one without a name), the
// message names the operation.
import { BoxfestError, isErrorCode, type ErrorContext } from '../../errors.js';
import { resultCodeHex, resultCodeName } from './result-codes.js';

export class VboxFault extends BoxfestError {
  constructor(
    /** `IVirtualBox_findMachine`, or the operation that started a failed progress. */
    readonly operation: string,
    /** By name: `VBOX_E_OBJECT_NOT_FOUND`; `VBOX_INVALID_OBJECT` for a stale managed object reference. */
    readonly resultCode: string,
    /** VirtualBox's own text. */
    readonly text: string,
    ctx: ErrorContext = {},
  ) {
    super(isErrorCode(resultCode) ? resultCode : 'VBOX_FAULT', `${operation} failed: ${text}`, {
      hint: ctx.hint ?? hintFor(resultCode),
      ...ctx,
    });
    this.name = 'VboxFault';
  }

  override withContext(ctx: { machine?: string; step?: string }): BoxfestError {
    return new VboxFault(this.operation, this.resultCode, this.text, {
      machine: this.machine ?? ctx.machine,
      step: this.step ?? ctx.step,
      hint: this.hint,
      details: this.details,
      cause: this.cause,
    });
  }
}

/** What a user can do about each result code. */
export function hintFor(code: string): string {
  switch (code) {
    case 'VBOX_E_OBJECT_NOT_FOUND':
      return 'it is not on the server (removed outside boxfest?); `boxfest status` shows what is left';
    case 'E_ACCESSDENIED':
      return 'the web service refused this: check BOXFEST_VBOX_USER / BOXFEST_VBOX_PASSWORD and the server user’s rights';
    case 'VBOX_E_INVALID_VM_STATE':
      return 'the machine is in a state that does not allow this; `boxfest status`, then halt or up as needed';
    case 'VBOX_E_OBJECT_IN_USE':
    case 'VBOX_E_INVALID_OBJECT_STATE':
      return 'another session holds it (a VirtualBox window or VBoxManage?); close that and run the command again';
    case 'VBOX_E_FILE_ERROR':
    case 'VBOX_E_IPRT_ERROR':
      return 'a file on the server could not be used: media paths must exist on the host running vboxwebsrv';
    case 'VBOX_INVALID_OBJECT':
      return 'the web service forgot the object (vboxwebsrv restarted or timed the session out); run the command again';
    default:
      return 'see the VirtualBox message above; VBoxSVC.log on the server has more';
  }
}

/** Parses a fault's faultstring: `VirtualBox error: apirc=0x80bb0001 Could not ... (0x80bb0001)`. */
export function faultText(faultstring: string): string {
  return faultstring
    .replace(/^VirtualBox error:\s*/i, '')
    .replace(/^(api)?rc=0x[0-9a-f]+\s*/i, '')
    .replace(/\s*\(0x[0-9a-f]+\)\s*$/i, '')
    .trim();
}

export interface FaultBody {
  faultcode?: string;
  faultstring?: string;
  detail?: {
    RuntimeFault?: { resultCode?: string | number; returnval?: string | null };
    InvalidObjectFault?: { badObjectID?: string };
  };
}

/** The typed error for a fault; `undefined` when `body` is not a fault. */
export function faultToError(operation: string, body: FaultBody | undefined): VboxFault | undefined {
  if (
    body === undefined ||
    (body.faultstring === undefined && body.detail === undefined && body.faultcode === undefined)
  )
    return undefined;
  const text = faultText(String(body.faultstring ?? `${body.faultcode ?? 'unknown'} fault`));
  const runtime = body.detail?.RuntimeFault;
  if (runtime?.resultCode !== undefined) {
    const rc = Number(runtime.resultCode);
    return new VboxFault(operation, resultCodeName(rc), text, {
      details: `result code ${resultCodeHex(rc)}`,
    });
  }
  if (body.detail?.InvalidObjectFault !== undefined)
    return new VboxFault(operation, 'VBOX_INVALID_OBJECT', text);
  // A failed logon is a bare SOAP fault without VirtualBox detail: vboxwebsrv 7.2 refusing
  // credentials answers HTTP 500 with `<faultcode>SOAP-ENV:Client</faultcode>` and nothing else.
  if (operation === 'IWebsessionManager_logon')
    return new VboxFault(operation, 'VBOX_LOGON_FAILED', text, {
      hint:
        'the web service refused the credentials: set BOXFEST_VBOX_USER and BOXFEST_VBOX_PASSWORD to a user ' +
        'of the server host (auth library VBoxAuth/PAM), or run vboxwebsrv with the `null` auth library locally',
    });
  return new VboxFault(operation, 'VBOX_FAULT', text);
}
