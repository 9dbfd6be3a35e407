// The network probe's forward is found in HMP's `info usernet` table, as QEMU 7.2 prints it.
import { describe, expect, it } from 'vitest';
import { probeForwards } from '../../../src/providers/qemu/network-probe.js';

const HEAD = `Hub -1 (nat0):
  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
`;

describe('probeForwards', () => {
  it.each([
    ['no forwards', HEAD, []],
    // Recorded from qemu-system-x86_64 7.2 after `hostfwd_add nat0 tcp:127.0.0.1:0-:1`.
    [
      'the probe forward',
      `${HEAD}  TCP[HOST_FORWARD]  11       127.0.0.1 44443       10.0.2.15     1     0     0\n`,
      [44443],
    ],
    [
      'beside the SSH forward and a connection',
      `${HEAD}  TCP[HOST_FORWARD]  12       127.0.0.1 40001       10.0.2.15    22     0     0
  TCP[HOST_FORWARD]  11       127.0.0.1 44443       10.0.2.15     1     0     0
  TCP[ESTABLISHED]   25       127.0.0.1 51234       10.0.2.15     1     0     0
`,
      [44443],
    ],
    [
      'a forward of guest port 1 on another host address is not ours',
      `${HEAD}  TCP[HOST_FORWARD]  11         0.0.0.0 44443       10.0.2.15     1     0     0\n`,
      [],
    ],
  ] as const)('%s', (_, table, ports) => {
    expect(probeForwards(table)).toEqual(ports);
  });
});
