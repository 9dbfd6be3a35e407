// Boot pacing as data: a script of requests, releases and host readings, and who is booting and
// who waits after each event. No host, no timers: the clock and the measurement are handed in.
import { describe, expect, it } from 'vitest';
import {
  BootPacer,
  defaultBootLimit,
  type BootSlot,
  type QueuePosition,
} from '../../../src/pipeline/boot-pacer.js';

type Event =
  | { want: string } // a machine asks to boot
  | { done: string } // its guest answered SSH (or it failed): the slot is given back
  | { tick: boolean } // one reading of the host: room for one more, or not
  | { at: number }; // the clock moves

interface Case {
  name: string;
  limit: number;
  max?: number;
  /** Boxfile order, when the case gives one. */
  order?: string[];
  events: Event[];
  booting: string[];
  waiting: string[];
  peak: number;
}

const want = (...ms: string[]): Event[] => ms.map((m) => ({ want: m }));

const cases: Case[] = [
  {
    name: 'under the limit: all boot',
    limit: 2,
    events: want('a', 'b'),
    booting: ['a', 'b'],
    waiting: [],
    peak: 2,
  },
  {
    name: 'over the limit: the rest wait in order',
    limit: 2,
    events: want('a', 'b', 'c', 'd', 'e'),
    booting: ['a', 'b'],
    waiting: ['c', 'd', 'e'],
    peak: 2,
  },
  {
    name: 'a slot given back goes to the first in line',
    limit: 2,
    events: [...want('a', 'b', 'c', 'd'), { done: 'b' }],
    booting: ['a', 'c'],
    waiting: ['d'],
    peak: 2,
  },
  {
    name: 'a slot given back twice frees one place only',
    limit: 1,
    events: [...want('a', 'b', 'c'), { done: 'a' }, { done: 'a' }],
    booting: ['b'],
    waiting: ['c'],
    peak: 1,
  },
  {
    name: 'all done: nothing boots, nothing waits',
    limit: 2,
    events: [...want('a', 'b', 'c'), { done: 'a' }, { done: 'b' }, { done: 'c' }],
    booting: [],
    waiting: [],
    peak: 2,
  },
  {
    name: 'one at a time',
    limit: 1,
    events: [...want('a', 'b', 'c'), { done: 'a' }],
    booting: ['b'],
    waiting: ['c'],
    peak: 1,
  },
  {
    name: 'an idle host lets one more boot per reading, up to max',
    limit: 2,
    max: 3,
    events: [...want('a', 'b', 'c', 'd', 'e'), { tick: true }, { tick: true }],
    booting: ['a', 'b', 'c'],
    waiting: ['d', 'e'],
    peak: 3,
  },
  {
    name: 'a busy host admits no one beyond the limit',
    limit: 2,
    max: 4,
    events: [...want('a', 'b', 'c'), { tick: false }, { tick: false }],
    booting: ['a', 'b'],
    waiting: ['c'],
    peak: 2,
  },
  {
    name: 'over the limit by adaptation: a given-back slot is not refilled until under the limit',
    limit: 1,
    max: 2,
    events: [...want('a', 'b', 'c', 'd'), { tick: true }, { done: 'a' }],
    booting: ['b'],
    waiting: ['c', 'd'],
    peak: 2,
  },
  {
    name: 'a free slot goes to whoever asks first; the waiting ones are lined up in Boxfile order',
    limit: 1,
    order: ['a', 'b', 'c', 'd'],
    events: want('c', 'd', 'b', 'a'),
    booting: ['c'],
    waiting: ['a', 'b', 'd'],
    peak: 1,
  },
  {
    name: 'a slot given back goes to the first waiting machine in Boxfile order',
    limit: 2,
    order: ['a', 'b', 'c', 'd'],
    events: [...want('b', 'd', 'c', 'a'), { done: 'd' }],
    booting: ['b', 'a'],
    waiting: ['c'],
    peak: 2,
  },
  {
    name: 'machines the order does not name wait after those it does, in the order they asked',
    limit: 1,
    order: ['a', 'b'],
    events: want('a', 'y', 'x', 'b'),
    booting: ['a'],
    waiting: ['b', 'y', 'x'],
    peak: 1,
  },
  {
    name: 'no measurement (max = limit): readings change nothing',
    limit: 2,
    events: [...want('a', 'b', 'c'), { tick: true }],
    booting: ['a', 'b'],
    waiting: ['c'],
    peak: 2,
  },
];

describe('BootPacer', () => {
  it.each(cases)('$name', async (c) => {
    let room = false;
    let now = 0;
    const pacer = new BootPacer({
      limit: c.limit,
      ...(c.max === undefined ? {} : { max: c.max, hasRoom: () => room }),
      ...(c.order === undefined ? {} : { order: c.order }),
      now: () => now,
    });
    const slots = new Map<string, BootSlot>();
    for (const e of c.events) {
      if ('want' in e) void pacer.acquire(e.want).then((s) => slots.set(e.want, s));
      else if ('done' in e) slots.get(e.done)?.release();
      else if ('tick' in e) {
        room = e.tick;
        pacer.tick();
      } else now = e.at;
      await Promise.resolve(); // let admissions settle into `slots`
      await Promise.resolve();
    }
    expect(pacer.snapshot()).toEqual({ booting: c.booting, waiting: c.waiting });
    expect(pacer.peak).toBe(c.peak);
  });

  it('tells a waiting machine where it stands, and how long it waited', async () => {
    let now = 1_000;
    const pacer = new BootPacer({ limit: 1, now: () => now });
    const heard: QueuePosition[] = [];
    const a = await pacer.acquire('a');
    const b = pacer.acquire('b');
    const c = pacer.acquire('c', (p) => heard.push(p));
    expect(heard).toEqual([{ ahead: 1, booting: 1 }]);
    now = 4_000;
    a.release();
    expect(heard).toEqual([
      { ahead: 1, booting: 1 },
      { ahead: 0, booting: 1 },
    ]);
    expect((await b).waitedMs).toBe(3_000);
    now = 7_000;
    (await b).release();
    expect((await c).waitedMs).toBe(6_000);
    expect(a.waitedMs).toBe(0);
    expect(pacer.snapshot()).toEqual({ booting: ['c'], waiting: [] });
  });

  it.each([
    [1, 1],
    [2, 2],
    [16, 16],
    [0, 1],
  ])('one boot per core: %i core(s) → %i', (cores, limit) => {
    expect(defaultBootLimit(cores)).toBe(limit);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s', (limit) => {
    expect(() => new BootPacer({ limit })).toThrow(/internal: boot limit/);
  });
});
