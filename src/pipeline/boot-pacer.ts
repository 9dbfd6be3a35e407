// Boot pacing: a cold `up` of many machines starts at most `limit` guests booting at a time
// (launch until SSH answers). Twenty TCG guests started at once on two cores all crawl, and
// most miss their boot_timeout; paced, each boots at near full speed and the last one is up
// sooner. The rest wait in Boxfile order (`order`; whoever asks first while a slot is free takes
// it: a free slot is never held for a machine still creating its disk) and are told where they stand.
//
// Adaptive: `hasRoom()`, asked on each `tick()`, may admit one more guest beyond `limit` (up to
// `max`) while the host is measured idle, e.g. KVM guests that boot on little CPU. Pure: time and
// the measurement are handed in, so the order of admission is testable without a host.

export interface BootSlot {
  /** Milliseconds this machine waited for its turn. */
  waitedMs: number;
  /** Gives the slot to the next waiting machine; safe to call more than once. */
  release(): void;
}

/** Where a machine stands while it waits: machines ahead of it, and how many are booting. */
export interface QueuePosition {
  ahead: number;
  booting: number;
}

interface Waiter {
  machine: string;
  since: number;
  onPosition: (p: QueuePosition) => void;
  admit: (slot: BootSlot) => void;
}

export interface PacerOptions {
  /** Guests booting at once (the number of cores by default). */
  limit: number;
  /** Upper bound for adaptive admission; `limit` (no adaptation) when unset. */
  max?: number;
  /** True when the host has CPU to spare for one more boot (measured by the caller). */
  hasRoom?: () => boolean;
  /** Machine names in Boxfile order: the order in which waiting machines are admitted. */
  order?: readonly string[];
  now?: () => number;
}

export class BootPacer {
  readonly limit: number;
  readonly max: number;
  private readonly booting = new Set<string>();
  private readonly queue: Waiter[] = [];
  private readonly now: () => number;
  private readonly hasRoom: (() => boolean) | undefined;
  private readonly rank: (machine: string) => number;
  /** Most guests seen booting at once: what a run can report. */
  peak = 0;

  constructor(o: PacerOptions) {
    if (!Number.isInteger(o.limit) || o.limit < 1) throw new Error(`internal: boot limit ${o.limit}`);
    this.limit = o.limit;
    this.max = Math.max(o.limit, o.max ?? o.limit);
    this.now = o.now ?? Date.now;
    this.hasRoom = o.hasRoom;
    const order = o.order ?? [];
    this.rank = (m) => (order.includes(m) ? order.indexOf(m) : order.length);
  }

  /** Resolves when `machine` may launch its guest; `onPosition` hears each change while it waits. */
  acquire(machine: string, onPosition: (p: QueuePosition) => void = () => undefined): Promise<BootSlot> {
    return new Promise((admit) => {
      // Behind every waiting machine that comes before it in the Boxfile (or asked first).
      const behind = this.queue.findIndex((w) => this.rank(w.machine) > this.rank(machine));
      const w = { machine, since: this.now(), onPosition, admit };
      if (behind === -1) this.queue.push(w);
      else this.queue.splice(behind, 0, w);
      this.admit(this.limit);
      this.tellPositions();
    });
  }

  /** Asks the measurement once: while the host has room, one more waiting machine may boot. */
  tick(): void {
    if (this.queue.length === 0 || this.hasRoom === undefined) return;
    if (this.booting.size < this.max && this.hasRoom()) {
      this.admit(this.booting.size + 1);
      this.tellPositions();
    }
  }

  snapshot(): { booting: string[]; waiting: string[] } {
    return { booting: [...this.booting], waiting: this.queue.map((w) => w.machine) };
  }

  private admit(upTo: number): void {
    while (this.booting.size < upTo && this.queue.length > 0) {
      const w = this.queue.shift()!;
      this.booting.add(w.machine);
      this.peak = Math.max(this.peak, this.booting.size);
      let released = false;
      w.admit({
        waitedMs: this.now() - w.since,
        release: () => {
          if (released) return;
          released = true;
          this.booting.delete(w.machine);
          this.admit(this.limit);
          this.tellPositions();
        },
      });
    }
  }

  private tellPositions(): void {
    this.queue.forEach((w, i) => w.onPosition({ ahead: i, booting: this.booting.size }));
  }
}

/** One boot per core; `--parallel N` overrides. */
export function defaultBootLimit(cores: number): number {
  return Math.max(1, cores);
}

/**
 * The pacer `up` uses: `limit` guests at once; when `adaptive`, one more while two readings of
 * the host's CPUs in a row (a second apart) were at least half idle, up to twice the limit.
 */
export async function hostPacer(
  limit: number,
  adaptive: boolean,
  order: readonly string[],
): Promise<{ pacer: BootPacer; stop(): void }> {
  if (!adaptive) return { pacer: new BootPacer({ limit, order }), stop: () => undefined };
  const { idleSampler } = await import('../util/cpu-idle.js');
  const sample = idleSampler();
  const recent: (number | undefined)[] = [];
  const pacer = new BootPacer({
    limit,
    order,
    max: limit * 2,
    hasRoom: () => recent.length >= 2 && recent.slice(-2).every((x) => x !== undefined && x >= 0.5),
  });
  const timer = setInterval(() => {
    recent.push(sample());
    if (recent.length > 2) recent.shift();
    pacer.tick();
  }, 1000);
  timer.unref();
  return { pacer, stop: () => clearInterval(timer) };
}
