// Creates the node-soap client for one vboxwebsrv. The WSDL comes from the server itself, so it
// always matches the server's version; it is trimmed to OPERATIONS and cached per API version under
// the boxfest home, so a later process parses a ~70 KB file instead of 3.8 MB.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'soap';
import { BoxfestError, errorMessage } from '../../../errors.js';
import { readJson, writeJsonAtomic } from '../../../state/atomic.js';
import { vboxWsdlPaths } from '../paths.js';
import { getText, untrustedCertificate, type WebAgent } from './agent.js';
import { OPERATIONS } from './operations.js';
import { trimWsdl, WSDL_FILE, type Signature } from './trim.js';

export interface SoapClient {
  client: Client;
  signatures: Record<string, Signature>;
  /** API version the cached WSDL was trimmed from (`7_2`), or undefined when just fetched. */
  api: string | undefined;
  /** Where the trimmed pair lives; `remember()` files it under the real API version. */
  dir: string;
}

/** Changes whenever OPERATIONS changes, so an older cache is trimmed again. */
export const OPERATIONS_KEY = createHash('sha256').update(OPERATIONS.join('\n')).digest('hex').slice(0, 10);

// unsignedInt/unsignedShort would stay strings and long would lose precision (node-soap parses
// long with parseInt); these turn them into exact values. Only honoured with disableCache.
const DESERIALIZERS = {
  long: (t: string) => BigInt(t),
  unsignedLong: (t: string) => BigInt(t),
  unsignedInt: (t: string) => Number(t),
  unsignedShort: (t: string) => Number(t),
};

export function unreachable(url: string, e: unknown): BoxfestError {
  const untrusted = untrustedCertificate(e);
  if (untrusted !== undefined)
    return new BoxfestError(
      'VBOX_TLS_UNTRUSTED',
      `the VirtualBox web service at ${url} has a certificate this machine does not trust (${untrusted})`,
      {
        details: errorMessage(e),
        hint:
          'set BOXFEST_VBOX_CA to the PEM file of the CA (or the self-signed certificate) that issued it; ' +
          'boxfest never skips the check',
      },
    );
  return new BoxfestError('VBOX_UNREACHABLE', `cannot reach the VirtualBox web service at ${url}`, {
    details: errorMessage(e),
    hint:
      'start vboxwebsrv on that host (e.g. `vboxwebsrv --host 127.0.0.1 -t 0`), or set `virtualbox.url` ' +
      'in the Boxfile (or BOXFEST_VBOX_URL) to where it runs; see "VirtualBox" in the README',
  });
}

async function build(dir: string, url: string): Promise<Client> {
  const { createClientAsync } = await import('soap');
  return createClientAsync(join(dir, 'vboxwebService.wsdl'), {
    endpoint: url,
    disableCache: true,
    customDeserializer: DESERIALIZERS,
  });
}

/** The cached client for this server when there is one; else fetch, trim and cache the server's WSDL. */
export async function soapClient(home: string, url: string, agent: WebAgent): Promise<SoapClient> {
  const paths = vboxWsdlPaths(home);
  const index = readJson<Record<string, string>>(paths.index) ?? {};
  const api = index[url];
  if (api !== undefined) {
    const dir = paths.version(api, OPERATIONS_KEY);
    const sigFile = join(dir, 'signatures.json');
    if (existsSync(sigFile)) {
      const signatures = JSON.parse(readFileSync(sigFile, 'utf8')) as Record<string, Signature>;
      return { client: await build(dir, url), signatures, api, dir };
    }
  }
  return fetchClient(home, url, agent);
}

/** Fetches GET /?wsdl from the server and trims it into a fresh (not yet filed) cache directory. */
export async function fetchClient(home: string, url: string, agent: WebAgent): Promise<SoapClient> {
  let full: string;
  try {
    const res = await getText(new URL('?wsdl', url), agent);
    if (res.status !== 200) throw new Error(`GET ${url}?wsdl answered HTTP ${res.status}`);
    full = res.body;
  } catch (e) {
    throw unreachable(url, e);
  }
  let trimmed;
  try {
    trimmed = trimWsdl(full, OPERATIONS);
  } catch (e) {
    throw new BoxfestError('VBOX_BAD_WSDL', `${url} did not serve a VirtualBox web service WSDL`, {
      details: errorMessage(e),
      hint: 'check that `virtualbox.url` points at vboxwebsrv (default port 18083)',
    });
  }
  const paths = vboxWsdlPaths(home);
  const dir = join(paths.dir, `fetched-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, WSDL_FILE), trimmed.wsdl);
  writeFileSync(join(dir, 'vboxwebService.wsdl'), trimmed.service);
  writeFileSync(join(dir, 'signatures.json'), JSON.stringify(trimmed.signatures, null, 1));
  return { client: await build(dir, url), signatures: trimmed.signatures, api: undefined, dir };
}

/** Files a fetched WSDL under the server's API version and remembers the version for this URL. */
export function remember(home: string, url: string, c: SoapClient, api: string): void {
  const paths = vboxWsdlPaths(home);
  if (c.api !== api) {
    const target = paths.version(api, OPERATIONS_KEY);
    if (c.dir !== target) {
      rmSync(target, { recursive: true, force: true });
      mkdirSync(paths.dir, { recursive: true });
      renameSync(c.dir, target);
      c.dir = target;
    }
    c.api = api;
  }
  const index = readJson<Record<string, string>>(paths.index) ?? {};
  if (index[url] !== api) writeJsonAtomic(paths.index, { ...index, [url]: api });
}

/** A cached WSDL for another version than the server now has (it was upgraded): forget it. */
export function forget(home: string, url: string): void {
  const paths = vboxWsdlPaths(home);
  const index = readJson<Record<string, string>>(paths.index) ?? {};
  if (index[url] === undefined) return;
  writeJsonAtomic(paths.index, Object.fromEntries(Object.entries(index).filter(([u]) => u !== url)));
}
