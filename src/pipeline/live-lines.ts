// One line per machine on a terminal, redrawn in place at most four times a second. listr2's
// tree renderer measured every line's width with string-width on each frame: with 20 machines it
// spent 17 s of CPU (over 90% in stringWidth) on a run whose steps needed 0.1 s. These lines are
// plain: cut to the terminal's width by code points, no wrapping.

export class LiveLines {
  private readonly rows = new Map<string, string>();
  private drawn = 0;
  private dirty = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    order: readonly string[],
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    for (const m of order) this.rows.set(m, `${m}: queued`);
    this.timer = setInterval(() => this.dirty && this.draw(), 250);
    this.draw();
  }

  set(machine: string, text: string): void {
    this.rows.set(machine, text);
    this.dirty = true;
  }

  /** The last frame, and the cursor left below it. */
  stop(): void {
    clearInterval(this.timer);
    this.draw();
  }

  private draw(): void {
    this.dirty = false;
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const cut = (s: string) => {
      const cps = [...s];
      return cps.length <= width ? s : `${cps.slice(0, width - 1).join('')}…`;
    };
    // Up to the first line of the last frame, then each line cleared and written anew.
    let frame = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    for (const row of this.rows.values()) frame += `\x1b[2K${cut(row)}\n`;
    this.out.write(frame);
    this.drawn = this.rows.size;
  }
}
