// A minimal QMP client: one connection per call, newline-delimited JSON. QEMU's QMP is the only
// control channel boxfest uses for a running VM (power button, quit, status).
import { createConnection } from 'node:net';
import { BoxfestError } from '../../errors.js';

interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  QMP?: unknown;
}

export async function qmpExecute(
  socketPath: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 5_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let phase: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const fail = (e: BoxfestError) => {
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        fail(
          new BoxfestError('QMP_TIMEOUT', `QEMU did not answer \`${command}\` within ${timeoutMs} ms`, {
            hint: 'the VM may be hung; `boxfest halt --force` ends it',
          }),
        ),
      timeoutMs,
    );
    const send = (msg: object) => sock.write(JSON.stringify(msg) + '\n');
    sock.setEncoding('utf8');
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(
        new BoxfestError(
          'QMP_UNAVAILABLE',
          `cannot reach QEMU's control socket ${socketPath}: ${e.code ?? e.message}`,
          {
            hint: 'the VM process is not running or is still starting',
            cause: e,
          },
        ),
      );
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as QmpReply;
        if (msg.event !== undefined) continue; // asynchronous events are not replies
        if (phase === 'greeting') {
          phase = 'capabilities';
          send({ execute: 'qmp_capabilities' });
        } else if (phase === 'capabilities') {
          phase = 'command';
          send(args === undefined ? { execute: command } : { execute: command, arguments: args });
        } else {
          clearTimeout(timer);
          sock.end();
          if (msg.error !== undefined)
            reject(
              new BoxfestError('QMP_ERROR', `QEMU refused \`${command}\`: ${msg.error.desc}`, {
                details: msg.error.class,
              }),
            );
          else resolve(msg.return);
        }
      }
    });
  });
}
