// runJobs on real listr2 (silent renderer), with steps that record what happened.

import { describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { asBoxfestError, rendererFor, runJobs, stepLine } from '../../../src/pipeline/runner.js';
import type { MachineJob } from '../../../src/pipeline/runner.js';
import type { Step } from '../../../src/pipeline/step.js';
import { setOutputMode } from '../../../src/util/output-mode.js';

interface Ctx {
  log: string[];
  flags: Set<string>;
}

interface StepOpts {
  fail?: unknown;
  skip?: (ctx: Ctx) => string | false;
  rollback?: boolean;
  rollbackFails?: boolean;
  commits?: boolean;
  /** Awaited inside run, to interleave machines. */
  wait?: () => Promise<void>;
}

function step(name: string, o: StepOpts = {}): Step<Ctx> {
  return {
    name,
    title: `title ${name}`,
    ...(o.skip === undefined ? {} : { skip: o.skip }),
    ...(o.commits === undefined ? {} : { commits: o.commits }),
    run: async (ctx, out) => {
      ctx.log.push(`run ${name}`);
      out.line(`output of ${name}`);
      out.title(`${name} done`);
      await o.wait?.();
      // Steps may throw anything; non-Error values are part of what is tested.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (o.fail !== undefined) throw o.fail;
      ctx.flags.add(name);
    },
    ...(o.rollback === true || o.rollbackFails === true
      ? {
          rollback: (ctx: Ctx) => {
            ctx.log.push(`rollback ${name}`);
            return o.rollbackFails === true
              ? Promise.reject(new Error(`rollback ${name} broke`))
              : Promise.resolve();
          },
        }
      : {}),
  };
}

function job(machine: string, steps: Step<Ctx>[]): MachineJob<Ctx> & { ctx: Ctx } {
  return { machine, steps, ctx: { log: [], flags: new Set() } };
}

const silent = { parallel: true, renderer: 'silent' } as const;

describe('runJobs', () => {
  it.each([
    ['succeeds', [step('a'), step('b')], ['run a', 'run b', 'end']],
    [
      'fails',
      [step('a', { rollback: true }), step('b', { fail: new Error('no') })],
      ['run a', 'run b', 'end', 'rollback a'],
    ],
  ])(
    'calls onEnd once when the pipeline %s (a boot slot is given back before any rollback)',
    async (_w, steps, log) => {
      const j = job('m', steps);
      j.onEnd = () => j.ctx.log.push('end');
      await runJobs([j], silent);
      expect(j.ctx.log).toEqual(log);
    },
  );

  it('runs the steps in order and reports success', async () => {
    const j = job('web', [step('a'), step('b'), step('c')]);
    const results = await runJobs([j], silent);
    expect(results).toMatchObject([{ machine: 'web', ok: true, ran: ['a', 'b', 'c'] }]);
    // Every step that ran is timed, in seconds.
    expect(Object.keys(results[0]!.seconds!)).toEqual(['a', 'b', 'c']);
    for (const s of Object.values(results[0]!.seconds!)) expect(s).toBeGreaterThanOrEqual(0);
    // ... and placed on a timeline: each starts when (or after) the one before ended.
    const times = Object.values(results[0]!.times!);
    expect(Object.keys(results[0]!.times!)).toEqual(['a', 'b', 'c']);
    for (const [i, t] of times.entries()) {
      expect(t.end).toBeGreaterThanOrEqual(t.start);
      if (i > 0) expect(t.start).toBeGreaterThanOrEqual(times[i - 1]!.end);
    }
    expect(j.ctx.log).toEqual(['run a', 'run b', 'run c']);
  });

  it('succeeds with no steps', async () => {
    expect(await runJobs([job('web', [])], silent)).toEqual([{ machine: 'web', ok: true, ran: [] }]);
  });

  it('returns nothing for no jobs', async () => {
    expect(await runJobs([], silent)).toEqual([]);
  });

  it.each<[string, (ctx: Ctx) => string | false, string[]]>([
    ['a reason skips', () => 'nothing to do', ['a', 'c']],
    ['false runs', () => false, ['a', 'b', 'c']],
    // Evaluated when the step is reached: it sees what earlier steps did.
    ['sees earlier steps', (ctx) => (ctx.flags.has('a') ? 'a already did it' : false), ['a', 'c']],
    ['sees only earlier steps', (ctx) => (ctx.flags.has('c') ? 'c already did it' : false), ['a', 'b', 'c']],
  ])('skip predicate: %s', async (_title, skip, ran) => {
    const j = job('web', [step('a'), step('b', { skip }), step('c')]);
    expect(await runJobs([j], silent)).toMatchObject([{ machine: 'web', ok: true, ran }]);
    expect(j.ctx.log).toEqual(ran.map((s) => `run ${s}`));
  });

  it('stops at a failing step, attributes the error and rolls back completed steps in reverse', async () => {
    const j = job('web', [
      step('a', { rollback: true }),
      step('b'), // no rollback: nothing to undo
      step('c', { rollback: true }),
      step('d', {
        rollback: true,
        fail: new BoxfestError('QEMU_TOOL_FAILED', 'no space', { hint: 'free some' }),
      }),
      step('e', { rollback: true }),
    ]);
    const [r] = await runJobs([j], silent);
    expect(r).toMatchObject({ machine: 'web', ok: false, ran: ['a', 'b', 'c', 'd'], failedStep: 'd' });
    expect(j.ctx.log).toEqual(['run a', 'run b', 'run c', 'run d', 'rollback c', 'rollback a']);
    expect(r?.error).toBeInstanceOf(BoxfestError);
    expect(r?.error).toMatchObject({
      code: 'QEMU_TOOL_FAILED',
      message: 'no space',
      machine: 'web',
      step: 'd',
      hint: 'free some',
    });
  });

  it('keeps the machine and step an error already names', async () => {
    const fail = new BoxfestError('SSH_TIMEOUT', 'late', { machine: 'other', step: 'inner' });
    const [r] = await runJobs([job('web', [step('a', { fail })])], silent);
    expect(r?.failedStep).toBe('a');
    expect(r?.error).toMatchObject({ code: 'SSH_TIMEOUT', machine: 'other', step: 'inner' });
  });

  it.each<[string, StepOpts[], string[]]>([
    [
      'a committing step shields the steps before it',
      [{ rollback: true }, { rollback: true, commits: true }, { rollback: true }, { fail: new Error('x') }],
      ['run s0', 'run s1', 'run s2', 'run s3', 'rollback s2'],
    ],
    [
      'the last commit counts',
      [
        { rollback: true, commits: true },
        { rollback: true },
        { commits: true },
        { rollback: true },
        { fail: 1 },
      ],
      ['run s0', 'run s1', 'run s2', 'run s3', 'run s4', 'rollback s3'],
    ],
    [
      'failing right after a commit rolls back nothing',
      [{ rollback: true }, { rollback: true, commits: true }, { fail: new Error('x') }],
      ['run s0', 'run s1', 'run s2'],
    ],
    [
      'commits: false is an ordinary step',
      [{ rollback: true }, { rollback: true, commits: false }, { fail: new Error('x') }],
      ['run s0', 'run s1', 'run s2', 'rollback s1', 'rollback s0'],
    ],
    [
      'skipped steps are not rolled back',
      [{ rollback: true }, { rollback: true, skip: () => 'skip' }, { fail: new Error('x') }],
      ['run s0', 'run s2', 'rollback s0'],
    ],
    [
      'a failing rollback does not stop the others',
      [{ rollback: true }, { rollbackFails: true }, { rollback: true }, { fail: new Error('x') }],
      ['run s0', 'run s1', 'run s2', 'run s3', 'rollback s2', 'rollback s1', 'rollback s0'],
    ],
  ])('%s', async (_title, opts, log) => {
    const j = job(
      'web',
      opts.map((o, i) => step(`s${i}`, o)),
    );
    const [r] = await runJobs([j], silent);
    expect(j.ctx.log).toEqual(log);
    expect(r?.ok).toBe(false);
    expect(r?.failedStep).toBe(`s${opts.length - 1}`);
  });

  it('reports a failing rollback with its step, after the failure it was undoing', async () => {
    const j = job('web', [
      step('a', { rollback: true }),
      step('b', { rollbackFails: true }),
      step('c'),
      step('d', { fail: new BoxfestError('SSH_TIMEOUT', 'late') }),
    ]);
    const [r] = await runJobs([j], silent);
    expect(r).toMatchObject({ ok: false, failedStep: 'd', error: { code: 'SSH_TIMEOUT', step: 'd' } });
    // Only steps with a rollback are listed; c has none.
    expect(r?.rolledBack).toEqual(['b', 'a']);
    expect(r?.rollbackErrors).toHaveLength(1);
    expect(r?.rollbackErrors?.[0]).toMatchObject({
      code: 'INTERNAL',
      message: 'rollback b broke',
      machine: 'web',
      step: 'b',
    });
  });

  it('a commits predicate is asked with the machine once its step ran', async () => {
    const keep = { ...step('keep', { rollback: true }), commits: (ctx: Ctx) => ctx.flags.has('keep') };
    const j = job('web', [step('a', { rollback: true }), keep, step('b', { fail: new Error('x') })]);
    const [r] = await runJobs([j], silent);
    expect(r?.rolledBack).toEqual([]);
    expect(j.ctx.log).toEqual(['run a', 'run keep', 'run b']);
  });

  it.each<[string, unknown, string]>([
    ['an Error', new TypeError('x is undefined'), 'x is undefined'],
    ['a string', 'plain string', 'plain string'],
    ['a number', 42, '42'],
  ])('turns %s into an INTERNAL BoxfestError', async (_title, thrown, message) => {
    const [r] = await runJobs([job('web', [step('a'), step('b', { fail: thrown })])], silent);
    expect(r?.failedStep).toBe('b');
    expect(r?.error).toBeInstanceOf(BoxfestError);
    expect(r?.error).toMatchObject({
      code: 'INTERNAL',
      message,
      machine: 'web',
      step: 'b',
      hint: 'this looks like a bug in boxfest; please report it with the output of the command',
    });
    expect(r?.error?.cause).toBe(thrown);
  });

  it.each([true, false])('one failing machine does not stop another (parallel: %s)', async (parallel) => {
    const web = job('web', [step('a'), step('b', { fail: new Error('boom') }), step('c')]);
    const db = job('db', [step('a'), step('b'), step('c')]);
    const cache = job('cache', [step('a', { fail: new BoxfestError('USAGE', 'x') })]);
    const results = await runJobs([web, db, cache], { parallel, renderer: 'silent' });
    expect(results.map((r) => [r.machine, r.ok, r.ran, r.failedStep, r.error?.message])).toEqual([
      ['web', false, ['a', 'b'], 'b', 'boom'],
      ['db', true, ['a', 'b', 'c'], undefined, undefined],
      ['cache', false, ['a'], 'a', 'x'],
    ]);
    expect(db.ctx.log).toEqual(['run a', 'run b', 'run c']);
  });

  it('runs machines concurrently when parallel', async () => {
    // web's step can only finish once db's step has started.
    let dbStarted!: () => void;
    const started = new Promise<void>((resolve) => (dbStarted = resolve));
    const web = job('web', [step('wait', { wait: () => started })]);
    const db = job('db', [step('go', { wait: () => Promise.resolve(dbStarted()) })]);
    const results = await runJobs([web, db], silent);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });

  it('runs machines one after another when not parallel', async () => {
    const order: string[] = [];
    const tick = (s: string) => () => {
      order.push(s);
      return new Promise<void>((resolve) => setTimeout(resolve, 5));
    };
    const web = job('web', [step('a', { wait: tick('web a') }), step('b', { wait: tick('web b') })]);
    const db = job('db', [step('a', { wait: tick('db a') }), step('b', { wait: tick('db b') })]);
    await runJobs([web, db], { parallel: false, renderer: 'silent' });
    expect(order).toEqual(['web a', 'web b', 'db a', 'db b']);
  });
});

describe('asBoxfestError', () => {
  it('returns a BoxfestError unchanged', () => {
    const e = new BoxfestError('USAGE', 'x');
    expect(asBoxfestError(e)).toBe(e);
  });
});

describe('runJobs: one line per machine (many machines on a terminal)', () => {
  it.each<[string, Step<Ctx>[], boolean, string[], string | undefined]>([
    ['runs every step in order', [step('a'), step('b')], true, ['run a', 'run b', 'end'], undefined],
    [
      'skips what does not apply, as the tree does',
      [step('a'), step('b', { skip: (c) => (c.flags.has('a') ? 'a did it' : false) }), step('c')],
      true,
      ['run a', 'run c', 'end'],
      undefined,
    ],
    [
      'stops at a failure and rolls back, newest first',
      [
        step('a', { rollback: true }),
        step('b', { rollback: true }),
        step('c', { fail: new Error('x') }),
        step('d'),
      ],
      false,
      ['run a', 'run b', 'run c', 'end', 'rollback b', 'rollback a'],
      'c',
    ],
  ])('%s', async (_t, steps, ok, log, failedStep) => {
    const j = job('web', steps);
    j.onEnd = () => j.ctx.log.push('end');
    const [r] = await runJobs([j], { ...silent, compact: true });
    expect(r!.ok).toBe(ok);
    expect(r!.failedStep).toBe(failedStep);
    expect(j.ctx.log).toEqual(log);
  });
});

describe('runJobs: plain lines (no terminal)', () => {
  const never = () => 'does not apply';
  const noAnswer = new BoxfestError('SSH_TIMEOUT', 'no answer');
  it.each<[string, MachineJob<Ctx>[], string[], string[][]]>([
    [
      'a line per completed step, output as it comes, nothing for a skipped step',
      [job('web', [step('a'), step('never', { skip: never }), step('b')])],
      ['› web | output of a', '✔ web: a done (T)', '› web | output of b', '✔ web: b done (T)'],
      [['web', 'ok', 'T', '2 step(s)']],
    ],
    [
      'a failed step in one line, and the machine FAILED in the summary',
      [job('db', [step('a'), step('b', { fail: noAnswer }), step('c')])],
      ['› db | output of a', '✔ db: a done (T)', '› db | output of b', '✖ db: b failed after T: no answer'],
      [['db', 'FAILED', 'T', 'failed at b: no answer']],
    ],
    [
      'machines one after another, each line naming its machine',
      [job('web', [step('a')]), job('db', [step('never', { skip: never }), step('b')])],
      ['› web | output of a', '✔ web: a done (T)', '› db | output of b', '✔ db: b done (T)'],
      [
        ['web', 'ok', 'T', '1 step(s)'],
        ['db', 'ok', 'T', '1 step(s)'],
      ],
    ],
    [
      'nothing at all, not even a summary, when every step was skipped',
      [job('web', [step('a', { skip: never })])],
      [],
      [],
    ],
  ])('%s', async (_t, jobs, steps, summary) => {
    const lines: string[] = [];
    await runJobs(jobs, { parallel: false, renderer: 'lines', write: (l) => lines.push(l) });
    const shown = lines.map((l) => l.replace(/\d+\.\d s/g, 'T'));
    expect(shown.slice(0, steps.length)).toEqual(steps);
    expect(shown.join('\n')).not.toMatch(/never|SKIPPED|does not apply/);
    const table = shown.slice(steps.length).map((l) => l.split(/ {2,}/));
    expect(table).toEqual(summary.length === 0 ? [] : [['machine', 'result', 'time'], ...summary]);
  });
});

describe('runJobs: plain lines, skipped steps with --verbose', () => {
  it.each([
    ['the option', { verbose: true }, false],
    ['the global --verbose', {}, true],
  ])('with --verbose (%s) also names each skipped step and why', async (_t, o, global) => {
    const lines: string[] = [];
    setOutputMode({ quiet: false, verbose: global, color: 'never' }, {});
    try {
      const web = job('web', [step('a'), step('never', { skip: () => 'does not apply' })]);
      await runJobs([web], { parallel: false, renderer: 'lines', write: (l) => lines.push(l), ...o });
    } finally {
      setOutputMode({ quiet: false, verbose: false, color: 'never' }, {});
    }
    expect(lines.map((l) => l.replace(/\d+\.\d s/g, 'T')).slice(0, 3)).toEqual([
      '› web | output of a',
      '✔ web: a done (T)',
      '- web: title never skipped (does not apply)',
    ]);
  });

  it('prints nothing, not even a summary, when every step was skipped', async () => {
    const lines: string[] = [];
    await runJobs([job('web', [step('a', { skip: () => 'done' })])], {
      parallel: true,
      renderer: 'lines',
      write: (l) => lines.push(l),
    });
    expect(lines).toEqual([]);
  });
});

describe('stepLine', () => {
  it.each<[string, Parameters<typeof stepLine>, string]>([
    ['a finished step: its title, then its time once', ['web', 'SSH ready', 420], '✔ web: SSH ready (0.4 s)'],
    [
      'a title with parentheses of its own',
      ['db', 'booted (qemu, tcg)', 1234],
      '✔ db: booted (qemu, tcg) (1.2 s)',
    ],
    [
      'a failed step: its name, time and message',
      ['web', 'wait for SSH', 120_000, { step: 'wait-ssh', message: 'no answer' }],
      '✖ web: wait-ssh failed after 120.0 s: no answer',
    ],
  ])('%s', (_t, args, line) => {
    expect(stepLine(...args)).toBe(line);
  });
});

describe('rendererFor', () => {
  it('is silent for --json', () => {
    expect(rendererFor(true)).toBe('silent');
  });
});

describe('runJobs: interruption (Ctrl-C)', () => {
  /** A step that waits until released; `started` resolves when it began. */
  function gate() {
    let release!: () => void;
    let started!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const began = new Promise<void>((r) => (started = r));
    return { release, began, wait: () => (started(), released) };
  }

  it.each<[string, boolean, string[], string | undefined]>([
    // A step that must finish is waited for, then undone with the rest, newest first.
    ['a step that must finish', false, ['run a', 'run b', 'rollback b', 'rollback a'], 'b'],
    // An interruptible step is abandoned at once; its own rollback runs too.
    ['an interruptible step', true, ['run a', 'run b', 'rollback b', 'rollback a'], 'b'],
  ])('during %s: stops, rolls back, reports INTERRUPTED', async (_title, interruptible, log, failed) => {
    const g = gate();
    const ac = new AbortController();
    const b = { ...step('b', { rollback: true, wait: g.wait }), interruptible };
    const j = job('web', [step('a', { rollback: true }), b, step('c', { rollback: true })]);
    const running = runJobs([j], { ...silent, signal: ac.signal });
    await g.began;
    ac.abort();
    if (!interruptible) g.release();
    const [r] = await running;
    g.release();
    expect(j.ctx.log).toEqual(log);
    expect(r).toMatchObject({
      ok: false,
      failedStep: failed,
      error: { code: 'INTERRUPTED', machine: 'web' },
    });
    expect(r?.error?.hint).toContain('rolled back');
  });

  it('after a committing step, nothing before it is rolled back and the hint says the machine is usable', async () => {
    const g = gate();
    const ac = new AbortController();
    const j = job('web', [
      step('a', { rollback: true }),
      step('key', { rollback: true, commits: true }),
      { ...step('provision', { rollback: true, wait: g.wait }), interruptible: true },
    ]);
    const running = runJobs([j], { ...silent, signal: ac.signal });
    await g.began;
    ac.abort();
    const [r] = await running;
    g.release();
    expect(j.ctx.log).toEqual(['run a', 'run key', 'run provision', 'rollback provision']);
    expect(r?.error?.hint).toContain('the machine is usable');
  });

  it('a machine that had not started yet runs nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const j = job('web', [step('a', { rollback: true })]);
    const [r] = await runJobs([j], { ...silent, signal: ac.signal });
    expect(j.ctx.log).toEqual([]);
    expect(r).toMatchObject({ ok: false, ran: [], error: { code: 'INTERRUPTED' } });
  });
});
