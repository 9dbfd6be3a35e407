// Downloads of box files and catalogs over HTTP(S), with undici (Node's own HTTP client, as a
// package: it honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY through EnvHttpProxyAgent, takes a CA
// per request, times out a stalled body, and follows redirects).
//
// A box file streams to BOXFEST_HOME/cache/downloads/<key>.partial, hashed as it arrives. A cut
// or stalled connection is resumed with a Range request (If-Range: the same ETag or
// Last-Modified, or the server sends the whole file again), a few times in one run and again by
// the next `box add` of the same URL. A file whose checksum fails is deleted, never kept.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Dispatcher } from 'undici';
import type * as UndiciModule from 'undici';
import { BoxfestError, errorMessage } from '../errors.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { downloadPaths } from '../state/paths.js';
import { withWaitingLock } from '../state/wait-lock.js';
import { Hashes, verifyChecksum, type Checksum, type ChecksumType } from './checksum.js';
import type { Progress } from './progress.js';

export interface HttpOptions {
  /** PEM file of extra CA certificates to trust (`--ca-cert`). */
  caCert?: string | undefined;
  /** A body that sends nothing for this long is a stalled connection. */
  stallMs: number;
  env: NodeJS.ProcessEnv;
}

export function httpOptions(env: NodeJS.ProcessEnv, caCert?: string): HttpOptions {
  const stall = Number(env['BOXFEST_DOWNLOAD_STALL_SECONDS'] ?? '');
  return { caCert, stallMs: stall > 0 ? stall * 1000 : 60_000, env };
}

const ATTEMPTS = 4;
const MAX_REDIRECTS = 10;
/** A catalog is small; anything bigger is not one. */
const MAX_JSON_BYTES = 16 << 20;

let undiciModule: Promise<typeof UndiciModule> | undefined;
const undici = () => (undiciModule ??= import('undici'));

async function dispatcherFor(o: HttpOptions): Promise<Dispatcher> {
  const { EnvHttpProxyAgent, interceptors } = await undici();
  let ca: string | undefined;
  if (o.caCert !== undefined) {
    try {
      ca = readFileSync(o.caCert, 'utf8');
    } catch (e) {
      throw new BoxfestError(
        'BOX_CA_CERT',
        `cannot read the CA certificate ${o.caCert}: ${errorMessage(e)}`,
        {
          hint: 'give a PEM file with the certificate(s) of the CA that signed the server',
        },
      );
    }
  }
  // The system's CAs stay trusted; --ca-cert adds to them.
  const tls = ca === undefined ? {} : { ca: [...(await import('node:tls')).rootCertificates, ca] };
  const env = o.env;
  const agent = new EnvHttpProxyAgent({
    httpProxy: env['http_proxy'] ?? env['HTTP_PROXY'] ?? '',
    httpsProxy: env['https_proxy'] ?? env['HTTPS_PROXY'] ?? '',
    noProxy: env['no_proxy'] ?? env['NO_PROXY'] ?? '',
    connect: tls,
    requestTls: tls,
    headersTimeout: o.stallMs,
    bodyTimeout: o.stallMs,
  });
  return agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
}

/** A request failure in words a user can act on. */
function networkError(url: string, e: unknown): BoxfestError {
  const code = (e as { code?: string }).code ?? '';
  const msg = errorMessage(e);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.message ?? msg;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i.test(`${code} ${cause?.code ?? ''} ${why}`);
  const stalled = /Timeout/i.test(code) || /timeout/i.test(msg);
  return new BoxfestError(
    tls ? 'DOWNLOAD_TLS' : stalled ? 'DOWNLOAD_STALLED' : 'DOWNLOAD_FAILED',
    tls
      ? `the server's certificate for ${url} is not trusted (${why})`
      : stalled
        ? `the download of ${url} stalled (nothing received for a while)`
        : `cannot download ${url}: ${why}`,
    {
      cause: e,
      hint: tls
        ? 'pass the CA that signed it with --ca-cert FILE.pem'
        : 'check the URL and the network (HTTPS_PROXY/NO_PROXY are honoured); the next `box add` resumes where this one stopped',
    },
  );
}

function httpError(url: string, status: number): BoxfestError {
  return new BoxfestError('DOWNLOAD_HTTP', `${url} answered HTTP ${status}`, {
    hint: status === 404 ? 'check the URL' : 'check the URL, or try again later',
  });
}

/** The body of a small document (a catalog), or undefined when `url` serves something else. */
export async function fetchSmall(
  url: string,
  o: HttpOptions,
): Promise<{ json: string } | { contentType: string; length: number | undefined }> {
  const { request } = await undici();
  const dispatcher = await dispatcherFor(o);
  try {
    const res = await request(url, {
      dispatcher,
      method: 'GET',
      headers: { accept: 'application/json, */*' },
    });
    if (res.statusCode >= 400) {
      await res.body.dump();
      throw httpError(url, res.statusCode);
    }
    const type = String(res.headers['content-type'] ?? '');
    const length = Number(res.headers['content-length'] ?? NaN);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (chunks.length === 0 && !/json/i.test(type) && !/^\s*\{/.test(chunk.toString('latin1', 0, 64))) {
        // Not JSON: a box or image; the real download starts over with resume support.
        res.body.destroy();
        return { contentType: type, length: Number.isFinite(length) ? length : undefined };
      }
      bytes += chunk.length;
      if (bytes > MAX_JSON_BYTES) {
        res.body.destroy();
        return { contentType: type, length: Number.isFinite(length) ? length : undefined };
      }
      chunks.push(chunk);
    }
    return { json: Buffer.concat(chunks).toString('utf8') };
  } catch (e) {
    if (e instanceof BoxfestError) throw e;
    throw networkError(url, e);
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

interface PartialMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

export interface Downloaded {
  /** The complete, verified file (BOXFEST_HOME/cache/downloads/<key>.partial until moved). */
  file: string;
  size: number;
  digests: Map<ChecksumType, string>;
  /** Bytes that were already there from an earlier, cut download. */
  resumedFrom: number;
}

export const downloadKey = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 24);

/**
 * Downloads `url` to the cache, resuming a partial file of the same URL; verifies `checksum`.
 * On success the caller moves or deletes `file` (see discardDownload).
 */
export function download(
  home: string,
  url: string,
  opts: { checksum?: Checksum | undefined; http: HttpOptions; progress: Progress },
): Promise<Downloaded> {
  const paths = downloadPaths(home, downloadKey(url));
  // Two `box add`s of one URL would write the same partial file: the second waits.
  return withWaitingLock(paths.lock, `download ${url}`, 24 * 3600_000, async () => {
    mkdirSync(dirname(paths.partial), { recursive: true });
    const types: ChecksumType[] = opts.checksum === undefined ? [] : [opts.checksum.type];
    let meta = readJson<PartialMeta>(paths.meta);
    if (meta?.url !== url || !existsSync(paths.partial)) {
      rmSync(paths.partial, { force: true });
      meta = { url };
      writeJsonAtomic(paths.meta, meta);
    }
    const resumedFrom = statSync(paths.partial, { throwIfNoEntry: false })?.size ?? 0;
    const dispatcher = await dispatcherFor(opts.http);
    let lastError: unknown;
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        try {
          const done = await fetchInto(url, paths, meta, types, dispatcher, opts.progress);
          if (opts.checksum !== undefined) {
            try {
              verifyChecksum(url, opts.checksum, done.digests);
            } catch (e) {
              discardDownload(home, url);
              throw e;
            }
          }
          return { file: paths.partial, size: done.size, digests: done.digests, resumedFrom };
        } catch (e) {
          if (e instanceof BoxfestError && !/^DOWNLOAD_(FAILED|STALLED|TRUNCATED)$/.test(e.code)) throw e;
          lastError = e;
          meta = readJson<PartialMeta>(paths.meta) ?? { url };
          opts.progress.note(`${errorMessage(e)}; resuming (attempt ${attempt + 1} of ${ATTEMPTS})`);
        }
      }
      throw lastError instanceof BoxfestError ? lastError : networkError(url, lastError);
    } finally {
      opts.progress.end();
      await dispatcher.close().catch(() => undefined);
    }
  });
}

/** Removes the cached (partial) download of `url`. */
export function discardDownload(home: string, url: string): void {
  const paths = downloadPaths(home, downloadKey(url));
  rmSync(paths.partial, { force: true });
  rmSync(paths.meta, { force: true });
}

/** One request: appends to the partial file from where it ends, or starts over. */
async function fetchInto(
  url: string,
  paths: ReturnType<typeof downloadPaths>,
  meta: PartialMeta,
  types: ChecksumType[],
  dispatcher: Dispatcher,
  progress: Progress,
): Promise<{ size: number; digests: Map<ChecksumType, string> }> {
  const { request } = await undici();
  let offset = statSync(paths.partial, { throwIfNoEntry: false })?.size ?? 0;
  const validator = meta.etag ?? meta.lastModified;
  const headers: Record<string, string> = {};
  if (offset > 0 && validator !== undefined) {
    headers['range'] = `bytes=${offset}-`;
    headers['if-range'] = validator;
  } else offset = 0;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher, method: 'GET', headers });
  } catch (e) {
    throw networkError(url, e);
  }
  if (res.statusCode === 416) {
    // The partial file is not a prefix of what the server has now: start over.
    await res.body.dump();
    rmSync(paths.partial, { force: true });
    writeJsonAtomic(paths.meta, { url });
    throw new BoxfestError('DOWNLOAD_FAILED', `${url} refused to resume; starting over`);
  }
  if (res.statusCode >= 400) {
    await res.body.dump();
    throw httpError(url, res.statusCode);
  }
  const partialContent = res.statusCode === 206;
  if (!partialContent) offset = 0;
  const length = Number(res.headers['content-length'] ?? NaN);
  const total = Number.isFinite(length) ? offset + length : undefined;
  const h = (name: string) => {
    const v = res.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const etag = h('etag');
  const lastModified = h('last-modified');
  const next: PartialMeta = {
    url,
    ...(etag === undefined || etag.startsWith('W/') ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(total === undefined ? {} : { total }),
  };
  writeJsonAtomic(paths.meta, next);

  const hashes = new Hashes(types);
  if (offset > 0) {
    // The bytes already here are part of the file: hash them first.
    for await (const chunk of createReadStream(paths.partial, { end: offset - 1, highWaterMark: 1 << 20 }))
      hashes.update(chunk as Buffer);
  }
  // A deep write buffer: the disk writes while the next chunks arrive and are hashed.
  const out = createWriteStream(paths.partial, { flags: offset > 0 ? 'a' : 'w', highWaterMark: 8 << 20 });
  let bytes = offset;
  progress.start('download', total, offset);
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      hashes.update(chunk);
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      progress.update(bytes);
    }
  } catch (e) {
    const n = networkError(url, e);
    if (n.code !== 'DOWNLOAD_FAILED') throw n;
    throw new BoxfestError(
      'DOWNLOAD_TRUNCATED',
      `the connection closed after ${bytes} of ${total ?? 'unknown'} bytes of ${url}`,
      { cause: e, hint: n.hint },
    );
  } finally {
    out.end();
    await once(out, 'close').catch(() => undefined);
  }
  if (total !== undefined && bytes !== total)
    throw new BoxfestError(
      'DOWNLOAD_TRUNCATED',
      `the connection closed after ${bytes} of ${total} bytes of ${url}`,
    );
  progress.update(bytes, true);
  return { size: bytes, digests: hashes.digest() };
}
