// VirtualBox result codes by name (VirtualBox.xidl and the COM/XPCOM headers). A SOAP fault carries
// `resultCode` as a *signed* 32-bit integer in a string: -2135228415 is 0x80BB0001.

const CODES: Record<number, string> = {
  0x80bb0001: 'VBOX_E_OBJECT_NOT_FOUND',
  0x80bb0002: 'VBOX_E_INVALID_VM_STATE',
  0x80bb0003: 'VBOX_E_VM_ERROR',
  0x80bb0004: 'VBOX_E_FILE_ERROR',
  0x80bb0005: 'VBOX_E_IPRT_ERROR',
  0x80bb0006: 'VBOX_E_PDM_ERROR',
  0x80bb0007: 'VBOX_E_INVALID_OBJECT_STATE',
  0x80bb0008: 'VBOX_E_HOST_ERROR',
  0x80bb0009: 'VBOX_E_NOT_SUPPORTED',
  0x80bb000a: 'VBOX_E_XML_ERROR',
  0x80bb000b: 'VBOX_E_INVALID_SESSION_STATE',
  0x80bb000c: 'VBOX_E_OBJECT_IN_USE',
  0x80bb000d: 'VBOX_E_PASSWORD_INCORRECT',
  0x80bb000e: 'VBOX_E_MAXIMUM_REACHED',
  0x80bb000f: 'VBOX_E_GSTCTL_GUEST_ERROR',
  0x80bb0010: 'VBOX_E_TIMEOUT',
  0x80bb0011: 'VBOX_E_DND_ERROR',
  0x80bb0012: 'VBOX_E_PLATFORM_ARCH_NOT_SUPPORTED',
  0x80bb0013: 'VBOX_E_RECORDING_ERROR',
  0x80070005: 'E_ACCESSDENIED',
  0x80004005: 'E_FAIL',
  0x80070057: 'E_INVALIDARG',
  0x80004001: 'E_NOTIMPL',
  0x8007000e: 'E_OUTOFMEMORY',
  0x80004003: 'E_POINTER',
  0x80004002: 'E_NOINTERFACE',
  0x8000ffff: 'E_UNEXPECTED',
  // XPCOM spells some of them differently on Linux hosts.
  0x80070022: 'E_ACCESSDENIED',
  0x80040111: 'E_FAIL',
};

/** `-2135228415` or `0x80bb0001` → `VBOX_E_OBJECT_NOT_FOUND`; unknown codes keep their hex form. */
export function resultCodeName(code: number | string): string {
  const n = typeof code === 'string' && /^0x/i.test(code) ? parseInt(code, 16) : Number(code);
  if (!Number.isFinite(n)) return String(code);
  const unsigned = n >>> 0;
  return CODES[unsigned] ?? `0x${unsigned.toString(16).padStart(8, '0')}`;
}

/** The unsigned hex form, as VirtualBox prints it: `0x80bb0001`. */
export function resultCodeHex(code: number): string {
  return `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}
