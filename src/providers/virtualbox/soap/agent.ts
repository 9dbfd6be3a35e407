// How boxfest reaches a web service URL over HTTP or HTTPS: one kept-alive agent per URL (and
// trust), used by the SOAP calls and the WSDL download alike. An https URL is verified against
// the system's CAs plus BOXFEST_VBOX_CA's certificates (a self-signed vboxwebsrv certificate, or
// the CA of a private network); an untrusted certificate is an error of its own, never ignored.
import { Agent as HttpAgent, get as httpGet, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';

export type WebAgent = HttpAgent | HttpsAgent;

const agents = new Map<string, WebAgent>();

/** The agent for `url`; `ca`: extra trusted certificates (PEM) for an https URL. */
export function agentFor(url: string, ca?: string): WebAgent {
  const key = `${url}\0${ca ?? ''}`;
  let a = agents.get(key);
  if (a === undefined) {
    a = url.startsWith('https:')
      ? new HttpsAgent({ keepAlive: true, ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }) })
      : new HttpAgent({ keepAlive: true });
    agents.set(key, a);
  }
  return a;
}

/** GET `url` through `agent`: the status and the body as text. */
export function getText(url: URL, agent: WebAgent): Promise<{ status: number; body: string }> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
  });
}

/** OpenSSL's and Node's codes for a certificate that did not verify. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The verification failure behind `e` (its own code or a cause's), if that is what it is. */
export function untrustedCertificate(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && UNTRUSTED.has(code)) return code;
  }
  return undefined;
}
