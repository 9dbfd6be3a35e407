// How cli.ts shows failed machines: each error under its machine and step, and below it what a
// rollback could not undo; with --json, the same in the error document.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render } from '../../src/cli.js';
import { MachinesFailed } from '../../src/commands/output.js';
import { BoxfestError } from '../../src/errors.js';
import type { JobResult } from '../../src/pipeline/runner.js';

const failed: JobResult[] = [
  {
    machine: 'web',
    ok: false,
    ran: ['configure', 'create', 'boot', 'wait-ssh'],
    failedStep: 'wait-ssh',
    error: new BoxfestError('SSH_TIMEOUT', 'SSH did not answer', {
      machine: 'web',
      step: 'wait-ssh',
      hint: 'wait',
    }),
    rolledBack: ['boot', 'create', 'configure'],
    rollbackErrors: [
      new BoxfestError('QEMU_TOOL_FAILED', 'qemu-img failed', {
        machine: 'web',
        step: 'create',
        details: 'disk locked',
        hint: 'another QEMU has it open',
      }),
    ],
  },
  { machine: 'db', ok: true, ran: ['boot'] },
];

function captured(stream: NodeJS.WriteStream): () => string {
  const spy = vi.spyOn(stream, 'write').mockImplementation(() => true);
  return () => spy.mock.calls.map((c) => String(c[0])).join('');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('render: failed machines', () => {
  it('shows what a rollback could not undo under the machine it belongs to', () => {
    const stderr = captured(process.stderr);
    expect(render(new MachinesFailed(failed), false)).toBe(1);
    expect(stderr()).toBe(
      [
        'error (machine web, step wait-ssh): SSH did not answer [SSH_TIMEOUT]',
        '  hint: wait',
        '  could not undo step create: qemu-img failed [QEMU_TOOL_FAILED]',
        '      disk locked',
        '    hint: another QEMU has it open',
        'error: 1 of 2 machine(s) failed: web',
        '',
      ].join('\n'),
    );
  });

  it('lists them in the --json error document', () => {
    const stdout = captured(process.stdout);
    expect(render(new MachinesFailed(failed), true)).toBe(1);
    expect(JSON.parse(stdout())).toMatchObject({
      error: {
        code: 'MACHINES_FAILED',
        machines: [
          {
            name: 'web',
            step: 'wait-ssh',
            error: { code: 'SSH_TIMEOUT' },
            rollback_errors: [{ code: 'QEMU_TOOL_FAILED', step: 'create', details: 'disk locked' }],
          },
        ],
      },
    });
  });
});
