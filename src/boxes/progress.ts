// Progress of long box work (downloads, unpacking, converting): a bar with bytes, rate and ETA on
// a terminal, a plain line every few seconds otherwise, and with --json one JSON object per
// progress step (on stderr, so stdout stays the command's one result document).

export interface Progress {
  /** A step starts; `from`: bytes already done (a resumed download). */
  start(step: string, total: number | undefined, from?: number): void;
  update(bytes: number, final?: boolean): void;
  /** A line of its own (a retry, a warning). */
  note(text: string): void;
  end(): void;
}

import { outputMode } from '../util/output-mode.js';

export type ProgressMode = 'tty' | 'plain' | 'json' | 'none';

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'json';
  if (outputMode().quiet) return 'none';
  return stream.isTTY === true ? 'tty' : 'plain';
}

const MiB = 2 ** 20;
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

export function createProgress(
  mode: ProgressMode,
  write: (s: string) => void = (s) => process.stderr.write(s),
): Progress {
  let step = '';
  let total: number | undefined;
  let from = 0;
  let started = 0;
  let lastShown = 0;
  let open = false;
  const everyMs = mode === 'tty' ? 100 : mode === 'json' ? 500 : 5000;

  const figures = (bytes: number) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? (bytes - from) / secs : 0;
    const eta = total !== undefined && rate > 0 ? (total - bytes) / rate : undefined;
    return { rate, eta };
  };
  const line = (bytes: number) => {
    const { rate, eta } = figures(bytes);
    const pct = total === undefined || total === 0 ? undefined : Math.min(100, (100 * bytes) / total);
    const of = total === undefined ? formatBytes(bytes) : `${formatBytes(bytes)} of ${formatBytes(total)}`;
    const tail = `${formatBytes(rate)}/s${eta === undefined ? '' : `, ETA ${formatSeconds(eta)}`}`;
    if (mode === 'tty') {
      const width = 24;
      const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
      const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `;
      return `${step} ${bar}${of}${pct === undefined ? '' : ` (${pct.toFixed(0)}%)`}  ${tail}`;
    }
    return `${step}: ${of}${pct === undefined ? '' : ` (${pct.toFixed(0)}%)`}, ${tail}`;
  };

  return {
    start(s, t, f = 0) {
      step = s;
      total = t;
      from = f;
      started = Date.now();
      lastShown = 0;
    },
    update(bytes, final = false) {
      if (mode === 'none') return;
      const now = Date.now();
      if (!final && now - lastShown < everyMs) return;
      lastShown = now;
      if (mode === 'json') {
        const { rate, eta } = figures(bytes);
        write(
          JSON.stringify({
            event: 'progress',
            step,
            bytes,
            ...(total === undefined ? {} : { total }),
            rate: Math.round(rate),
            ...(eta === undefined ? {} : { eta: Math.round(eta) }),
            ...(final ? { done: true } : {}),
          }) + '\n',
        );
      } else if (mode === 'tty') {
        write(`\r\x1b[2K${line(bytes)}`);
        open = true;
        if (final) {
          write('\n');
          open = false;
        }
      } else write(line(bytes) + '\n');
    },
    note(text) {
      if (mode === 'none') return;
      if (open) write('\n');
      open = false;
      write(mode === 'json' ? JSON.stringify({ event: 'note', message: text }) + '\n' : `${text}\n`);
    },
    end() {
      if (open) write('\n');
      open = false;
    },
  };
}
