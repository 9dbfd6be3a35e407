// One line per machine, redrawn in place: each frame goes back up over the last one and rewrites
// every line, cut to the terminal's width.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveLines } from '../../../src/pipeline/live-lines.js';

function terminal(columns: number) {
  const writes: string[] = [];
  return {
    writes,
    stream: { columns, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LiveLines', () => {
  it('draws every machine once at the start, then redraws in place when something changed', () => {
    vi.useFakeTimers();
    const t = terminal(80);
    const live = new LiveLines(['web', 'db'], t.stream);
    expect(t.writes).toEqual(['\x1b[2Kweb: queued\n\x1b[2Kdb: queued\n']);
    vi.advanceTimersByTime(1000);
    expect(t.writes).toHaveLength(1); // nothing changed, nothing drawn
    live.set('db', 'db: boot (1.0 s)');
    vi.advanceTimersByTime(250);
    expect(t.writes[1]).toBe('\x1b[2F\x1b[2Kweb: queued\n\x1b[2Kdb: boot (1.0 s)\n');
    live.stop();
    expect(t.writes).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(t.writes).toHaveLength(3); // stopped
  });

  it.each([
    [30, 'web: ' + 'x'.repeat(40), 'web: ' + 'x'.repeat(23) + '…'],
    [30, 'web: short', 'web: short'],
    [30, 'web: ' + 'é'.repeat(40), 'web: ' + 'é'.repeat(23) + '…'],
  ])('cuts lines to the width of a %i-column terminal', (columns, text, shown) => {
    const t = terminal(columns);
    const live = new LiveLines(['web'], t.stream);
    live.set('web', text);
    live.stop();
    expect(t.writes.at(-1)).toBe(`\x1b[1F\x1b[2K${shown}\n`);
  });
});
