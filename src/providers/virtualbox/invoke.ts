// The one choke point for every SOAP call to vboxwebsrv (like qemu/exec.ts for QEMU): arguments
// go out in the WSDL's sequence order, the HTTP connection is kept alive, faults become typed
// VboxFaults, managed object references are released by logging off, and progress objects are
// polled with short waits so no single call blocks for long.
import type { Client } from 'soap';
import { BoxfestError, errorMessage } from '../../errors.js';
import { faultToError, VboxFault, type FaultBody } from './faults.js';
import { resultCodeHex, resultCodeName } from './result-codes.js';
import { agentFor } from './soap/agent.js';
import { fetchClient, forget, remember, soapClient, unreachable, type SoapClient } from './soap/client.js';
import type { Operation } from './soap/operations.js';
import type { Signature } from './soap/trim.js';

export interface WebsessionOptions {
  home: string;
  url: string;
  user: string;
  password: string;
  /** Certificates (PEM) trusted besides the system's for an https URL (BOXFEST_VBOX_CA's file). */
  ca?: string;
  /** Called with every request/response envelope (scripts/record-vbox-fixtures uses it). */
  onExchange?: (op: string, request: string, response: string) => void;
}

/** A managed object reference: `<16 hex websession id>-<16 hex object id>`; '' is null. */
export type Ref = string;

type Args = Record<string, unknown>;

// Clients by URL for the life of the process: parsing even the trimmed WSDL is worth doing once.
const clients = new Map<string, Promise<SoapClient>>();

/** Orders `args` by the operation's request sequence; an argument the server does not know is a bug. */
export function orderArgs(op: string, sig: Signature, args: Args): Args {
  const known = new Set(sig.params.map((p) => p.name));
  for (const k of Object.keys(args))
    if (!known.has(k))
      throw new Error(`internal: ${op} has no parameter \`${k}\` on this server (adapter/version mismatch)`);
  const out: Args = {};
  for (const p of sig.params) {
    const v = args[p.name];
    if (v === undefined) {
      if (p.array) continue; // an empty array is the element left out
      throw new Error(`internal: ${op} needs parameter \`${p.name}\``);
    }
    out[p.name] = v;
  }
  return out;
}

/** node-soap gives null for zero elements and the bare value for one: arrays stay arrays. */
export function normalizeResult(sig: Signature, result: unknown): unknown {
  const obj = (result ?? {}) as Record<string, unknown>;
  const norm = (name: string, array: boolean): unknown => {
    const v = obj[name];
    if (!array) return v ?? undefined;
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? v : [v];
  };
  if (sig.results.length === 0) return undefined;
  if (sig.results.length === 1 && sig.results[0]!.name === 'returnval')
    return norm('returnval', sig.results[0]!.array);
  return Object.fromEntries(sig.results.map((r) => [r.name, norm(r.name, r.array)]));
}

interface SoapError {
  root?: { Envelope?: { Body?: { Fault?: FaultBody } } };
  response?: { status?: number };
  code?: string;
}

export class Websession {
  private closed = false;

  private constructor(
    private readonly soap: SoapClient,
    private readonly opts: WebsessionOptions,
    /** The IVirtualBox reference of this websession. */
    readonly vbox: Ref,
    /** `7_2`: what IVirtualBox_getAPIVersion said. */
    readonly api: string,
  ) {}

  /** The web service this websession talks to. */
  get url(): string {
    return this.opts.url;
  }

  /** Logs on; the API version decides which cached WSDL is right (a server upgrade refetches it). */
  static async open(opts: WebsessionOptions): Promise<Websession> {
    let soap = await Websession.client(opts);
    for (let attempt = 1; ; attempt++) {
      const vbox = await Websession.raw<Ref>(soap, opts, 'IWebsessionManager_logon', {
        username: opts.user,
        password: opts.password,
      });
      const api = await Websession.raw<string>(soap, opts, 'IVirtualBox_getAPIVersion', { _this: vbox });
      if (soap.api === undefined || soap.api === api || attempt > 1) {
        remember(opts.home, opts.url, soap, api);
        return new Websession(soap, opts, vbox, api);
      }
      // The cache was trimmed from another version of the server: start over with its real WSDL.
      await Websession.raw(soap, opts, 'IWebsessionManager_logoff', { refIVirtualBox: vbox }).catch(() => {});
      forget(opts.home, opts.url);
      const fresh = fetchClient(opts.home, opts.url, agentFor(opts.url, opts.ca));
      clients.set(opts.url, fresh);
      soap = await fresh;
    }
  }

  private static client(opts: WebsessionOptions): Promise<SoapClient> {
    let c = clients.get(opts.url);
    if (c === undefined) {
      c = soapClient(opts.home, opts.url, agentFor(opts.url, opts.ca));
      clients.set(opts.url, c);
      c.catch(() => clients.delete(opts.url));
    }
    return c;
  }

  private static async raw<T>(soap: SoapClient, opts: WebsessionOptions, op: string, args: Args): Promise<T> {
    const sig = soap.signatures[op];
    if (sig === undefined)
      throw new BoxfestError(
        'VBOX_UNSUPPORTED_OPERATION',
        `this VirtualBox web service has no operation ${op} (API ${soap.api ?? 'unknown'})`,
        { hint: 'boxfest supports VirtualBox 6.1, 7.0, 7.1 and 7.2; upgrade the server or boxfest' },
      );
    // node-soap adds one `<op>Async` method per WSDL operation; they are not in its types.
    type Method = (a: Args, o: object) => Promise<unknown[]>;
    const client: Client = soap.client;
    const method = (client as unknown as Record<string, Method | undefined>)[`${op}Async`];
    if (method === undefined) throw new Error(`internal: the SOAP client has no method ${op}`);
    const agent = agentFor(opts.url, opts.ca);
    let result: unknown;
    try {
      [result] = await method.call(client, orderArgs(op, sig, args), { httpAgent: agent, httpsAgent: agent });
    } catch (e) {
      const se = e as SoapError;
      const fault = faultToError(op, se.root?.Envelope?.Body?.Fault);
      if (fault !== undefined) throw fault;
      if (se.response === undefined) throw unreachable(opts.url, e);
      throw new BoxfestError(
        'VBOX_HTTP_ERROR',
        `${op}: the web service answered HTTP ${se.response.status}`,
        {
          details: errorMessage(e),
          hint: 'check that `virtualbox.url` points at vboxwebsrv',
        },
      );
    } finally {
      if (opts.onExchange !== undefined)
        opts.onExchange(op, String(soap.client.lastRequest ?? ''), String(soap.client.lastResponse ?? ''));
    }
    return normalizeResult(sig, result) as T;
  }

  /** Whether this server has the operation (adapters use it for what moved between versions). */
  has(op: Operation): boolean {
    return this.soap.signatures[op] !== undefined;
  }

  /** One SOAP call: the `returnval` (arrays always arrays), or all named results for multi-result calls. */
  call<T = Ref>(op: Operation, args: Args = {}): Promise<T> {
    if (this.closed) throw new Error(`internal: ${op} on a closed websession`);
    return Websession.raw<T>(this.soap, this.opts, op, args);
  }

  /** Waits for an IProgress in short slices; a failed one becomes a VboxFault named after `op`. */
  async wait(progress: Ref, op: string, timeoutMs = 600_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await this.call('IProgress_waitForCompletion', { _this: progress, timeout: 500 });
      if (await this.call<boolean>('IProgress_getCompleted', { _this: progress })) break;
      if (Date.now() > until)
        throw new BoxfestError('VBOX_TIMEOUT', `${op} did not finish within ${timeoutMs / 1000} s`, {
          hint: 'the server may be overloaded; run the command again',
        });
    }
    const rc = await this.call<number>('IProgress_getResultCode', { _this: progress });
    if (rc === 0) return;
    throw new VboxFault(op, resultCodeName(rc), await this.errorText(progress), {
      details: `result code ${resultCodeHex(rc)}`,
    });
  }

  /** The whole IVirtualBoxErrorInfo chain of a failed progress, one message per line. */
  private async errorText(progress: Ref): Promise<string> {
    const texts: string[] = [];
    let info = await this.call('IProgress_getErrorInfo', { _this: progress }).catch(() => '');
    while (info !== '' && info !== undefined && info !== null && texts.length < 5) {
      texts.push(await this.call<string>('IVirtualBoxErrorInfo_getText', { _this: info }));
      info = await this.call('IVirtualBoxErrorInfo_getNext', { _this: info }).catch(() => '');
    }
    return texts.join('\n') || 'the operation failed without an error text';
  }

  /** Frees a reference now (long loops); everything else goes at logoff. */
  release(ref: Ref): Promise<void> {
    return this.call<void>('IManagedObjectRef_release', { _this: ref });
  }

  /** Logs off: the server frees every reference of this websession. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Websession.raw(this.soap, this.opts, 'IWebsessionManager_logoff', { refIVirtualBox: this.vbox });
  }
}

/** Runs `body` in a fresh websession and always logs off, so no reference outlives a command. */
export async function withWebsession<T>(
  opts: WebsessionOptions,
  body: (s: Websession) => Promise<T>,
): Promise<T> {
  const s = await Websession.open(opts);
  try {
    return await body(s);
  } finally {
    await s.close().catch(() => undefined);
  }
}
