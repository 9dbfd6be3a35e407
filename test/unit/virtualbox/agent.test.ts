// The web service's HTTPS trust against a real TLS server on 127.0.0.1 with certificates openssl
// makes here: the system's CAs alone refuse a self-signed one (and boxfest says so with its own
// code), BOXFEST_VBOX_CA's certificate makes it trusted, and a certificate for another address is
// refused even when trusted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, getText, untrustedCertificate } from '../../../src/providers/virtualbox/soap/agent.js';
import { unreachable } from '../../../src/providers/virtualbox/soap/client.js';

const dir = mkdtempSync(join(tmpdir(), 'boxfest-tls-'));

/** A self-signed certificate (its own CA) for `san`: [key, cert] in PEM. */
function certificate(name: string, san: string): [string, string] {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`],
      ...['-addext', `subjectAltName=${san}`, '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return [readFileSync(key, 'utf8'), readFileSync(cert, 'utf8')];
}

describe('https to the web service', () => {
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  const certs: Record<string, string> = {};

  beforeAll(async () => {
    for (const [name, san] of [
      ['right', 'IP:127.0.0.1'],
      ['elsewhere', 'IP:10.78.0.2'],
    ] as const) {
      const [key, cert] = certificate(name, san);
      certs[name] = cert;
      const s = createServer({ key, cert }, (_req, res) => res.end('<definitions/>'));
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      urls[name] = `https://127.0.0.1:${(s.address() as AddressInfo).port}/`;
    }
  });

  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['self-signed, nothing extra trusted', 'right', undefined, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['self-signed, its certificate trusted', 'right', 'right', undefined],
    ['another CA trusted than the one that issued it', 'right', 'elsewhere', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['trusted, but made for another address', 'elsewhere', 'elsewhere', 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ] as const)('%s', async (_what, server, trusted, refusal) => {
    const url = urls[server]!;
    const get = getText(
      new URL('?wsdl', url),
      agentFor(url, trusted === undefined ? undefined : certs[trusted]),
    );
    if (refusal === undefined) {
      expect(await get).toEqual({ status: 200, body: '<definitions/>' });
      return;
    }
    const e = await get.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(untrustedCertificate(e)).toBe(refusal);
    const err = unreachable(url, e);
    expect(err.code).toBe('VBOX_TLS_UNTRUSTED');
    expect(err.message).toContain(url);
    expect(err.hint).toContain('BOXFEST_VBOX_CA');
  });

  it('a refused connection is not taken for a certificate problem', async () => {
    const e = await getText(new URL('https://127.0.0.1:1/'), agentFor('https://127.0.0.1:1/')).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(untrustedCertificate(e)).toBeUndefined();
    expect(unreachable('https://127.0.0.1:1/', e).code).toBe('VBOX_UNREACHABLE');
  });
});
