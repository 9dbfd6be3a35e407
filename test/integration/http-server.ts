// Servers the box tests start themselves on 127.0.0.1, and stop: a static file server with HTTP
// ranges (and faults on demand: a cut connection, a stalled body), optionally over TLS, and a
// CONNECT proxy that records the tunnels it made.
import { createReadStream, existsSync, statSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join, normalize } from 'node:path';

export interface Request {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
  /** Body bytes sent. */
  sent: number;
}

export interface FileServer {
  url: string;
  requests: Request[];
  /** The next `times` responses for `path` close the connection after `bytes` body bytes. */
  cut(path: string, bytes: number, times?: number): void;
  /** The next response for `path` sends `bytes` body bytes, then nothing (the socket stays open). */
  stall(path: string, bytes: number): void;
  /** Body bytes per second for `path` (a slow download shows its progress). */
  throttle(path: string, bytesPerSecond: number): void;
  close(): Promise<void>;
}

function track(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export async function serveDir(dir: string, tls?: { key: string; cert: string }): Promise<FileServer> {
  const requests: Request[] = [];
  const cuts = new Map<string, { bytes: number; times: number }>();
  const stalls = new Map<string, number>();
  const throttles = new Map<string, number>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(dir, normalize(path));
    const record: Request = {
      path,
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
      ...(typeof req.headers['if-range'] === 'string' ? { ifRange: req.headers['if-range'] } : {}),
      status: 200,
      sent: 0,
    };
    requests.push(record);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      record.status = 404;
      res.writeHead(404).end('not found');
      return;
    }
    const st = statSync(file);
    const etag = `"${st.size}-${Math.floor(st.mtimeMs)}"`;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m !== null && (record.ifRange === undefined || record.ifRange === etag)) start = Number(m[1]);
    if (start >= st.size && st.size > 0) {
      record.status = 416;
      res.writeHead(416).end();
      return;
    }
    record.status = start > 0 ? 206 : 200;
    res.writeHead(record.status, {
      'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': String(st.size - start),
      etag,
      'accept-ranges': 'bytes',
      ...(start > 0 ? { 'content-range': `bytes ${start}-${st.size - 1}/${st.size}` } : {}),
    });
    const cut = cuts.get(path);
    if (cut !== undefined && --cut.times <= 0) cuts.delete(path);
    const stall = stalls.get(path);
    stalls.delete(path);
    const limit = cut?.bytes ?? stall;
    const rate = throttles.get(path);
    const stream = createReadStream(file, {
      start,
      highWaterMark: rate === undefined ? 64 * 1024 : Math.max(1024, Math.floor(rate / 10)),
    });
    stream.on('data', (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const room = limit === undefined ? buf.length : Math.max(0, limit - record.sent);
      if (room > 0) {
        res.write(buf.subarray(0, room));
        record.sent += Math.min(room, buf.length);
      }
      if (limit !== undefined && record.sent >= limit) {
        stream.destroy();
        // A cut: everything written so far arrives, then the connection closes.
        if (cut !== undefined) res.socket?.end();
        // a stall: the socket stays open and silent until the client gives up
        return;
      }
      if (rate !== undefined) {
        stream.pause();
        setTimeout(() => stream.resume(), 100);
      }
    });
    stream.on('end', () => res.end());
  };
  const server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    cut: (path, bytes, times = 1) => void cuts.set(path, { bytes, times }),
    stall: (path, bytes) => void stalls.set(path, bytes),
    throttle: (path, bps) => void throttles.set(path, bps),
    close,
  };
}

export interface ConnectProxy {
  url: string;
  /** host:port of every tunnel asked for. */
  tunnels: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that only tunnels (CONNECT), and only to 127.0.0.1. */
export async function connectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    tunnels.push(target);
    const [host, port] = target.split(':');
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tunnels, close };
}
