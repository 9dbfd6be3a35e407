import { describe, expect, it } from 'vitest';
import { faultText, faultToError } from '../../../src/providers/virtualbox/faults.js';
import { resultCodeName } from '../../../src/providers/virtualbox/result-codes.js';

describe('result codes by name', () => {
  it.each([
    ['-2135228415', 'VBOX_E_OBJECT_NOT_FOUND'],
    [-2135228414, 'VBOX_E_INVALID_VM_STATE'],
    [-2135228409, 'VBOX_E_INVALID_OBJECT_STATE'],
    [-2135228404, 'VBOX_E_OBJECT_IN_USE'],
    [-2147024891, 'E_ACCESSDENIED'],
    [-2147467259, 'E_FAIL'],
    ['0x80070057', 'E_INVALIDARG'],
    [-1, '0xffffffff'],
  ])('%s → %s', (code, name) => expect(resultCodeName(code)).toBe(name));
});

describe('faults', () => {
  it.each([
    [
      "VirtualBox error: apirc=0x80bb0001 Could not find a registered machine named 'x' (0x80bb0001)",
      "Could not find a registered machine named 'x'",
    ],
    ['VirtualBox error: rc=0x80004005', ''],
    ['Invalid managed object reference "abc"', 'Invalid managed object reference "abc"'],
  ])('faultText(%s)', (s, text) => expect(faultText(s)).toBe(text));

  it('a RuntimeFault becomes an error coded by result-code name that names the operation', () => {
    const e = faultToError('IMachine_lockMachine', {
      faultstring: 'VirtualBox error: apirc=0x80bb000c The machine is locked (0x80bb000c)',
      detail: { RuntimeFault: { resultCode: '-2135228404', returnval: null } },
    })!;
    expect(e.code).toBe('VBOX_E_OBJECT_IN_USE');
    expect(e.message).toBe('IMachine_lockMachine failed: The machine is locked');
    expect(e.operation).toBe('IMachine_lockMachine');
    expect(e.hint).toMatch(/another session holds it/);
    expect(e.withContext({ machine: 'web', step: 'boot' })).toMatchObject({
      code: 'VBOX_E_OBJECT_IN_USE',
      machine: 'web',
    });
  });

  it('a result code without a name is coded VBOX_FAULT and keeps its hex form', () => {
    const e = faultToError('IMachine_getName', {
      faultstring: 'VirtualBox error: rc=0xffffffff something new',
      detail: { RuntimeFault: { resultCode: '-1', returnval: null } },
    })!;
    expect(e.code).toBe('VBOX_FAULT');
    expect(e.resultCode).toBe('0xffffffff');
    expect(e.details).toBe('result code 0xffffffff');
  });

  it.each([
    ['with a faultstring', { faultstring: 'authentication failed' }],
    // What vboxwebsrv 7.2 (VBoxAuthSimple) answers a wrong password with, HTTP 500, recorded by
    // test/integration/vbox/remote-server: a faultcode and nothing else.
    ['as vboxwebsrv 7.2 sends it: a faultcode alone', { faultcode: 'SOAP-ENV:Client' }],
  ])('a bare logon fault (%s) says how to give credentials', (_what, body) => {
    const e = faultToError('IWebsessionManager_logon', body)!;
    expect(e.code).toBe('VBOX_LOGON_FAILED');
    expect(e.hint).toMatch(/BOXFEST_VBOX_USER and BOXFEST_VBOX_PASSWORD/);
  });

  it('an empty Fault element of another call is not taken for a fault', () => {
    expect(faultToError('IMachine_getName', {})).toBeUndefined();
  });

  it('a stale reference is an InvalidObjectFault', () => {
    const e = faultToError('IMachine_getName', {
      faultstring: 'Invalid managed object reference "x"',
      detail: { InvalidObjectFault: { badObjectID: 'x' } },
    })!;
    expect(e.code).toBe('VBOX_INVALID_OBJECT');
  });
});
