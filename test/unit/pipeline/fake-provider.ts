// A provider that keeps its machines in memory: what the pipeline needs of a hypervisor and nothing
// more, so the pipeline's own decisions (which steps run, skip, roll back) can be tested for every
// plan action without booting anything. Every call is logged; any method can be made to fail.
import type { Box } from '../../../src/boxes/store.js';
import type { ProviderName } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import type { Suspender } from '../../../src/providers/optional.js';
import type {
  ActualMachine,
  MachineContext,
  Provider,
  StartResult,
} from '../../../src/providers/provider.js';

export interface FakeVm {
  state: 'halted' | 'running' | 'suspended';
  /** False: the VM is there but its disk is gone (inspect says broken, disk-missing). */
  disk: boolean;
  /** The box it was made from. */
  box: string;
}

type Method = 'inspect' | 'importBox' | 'create' | 'start' | 'stop' | 'destroy' | 'suspend' | 'resume';

export const FAKE_SSH = { host: '127.0.0.1', port: 2222 } as const;

export class FakeProvider implements Provider, Suspender {
  readonly name = 'fake' as ProviderName;
  readonly boxFormat = 'qemu' as const;
  offersIdentity = false;
  readonly vms = new Map<string, FakeVm>();
  /** `method machine`, in call order. */
  readonly calls: string[] = [];
  /** Methods that throw (every call, until removed). */
  readonly failing = new Set<Method>();

  constructor(readonly keepsCreated = false) {}

  private call(method: Method, m: MachineContext | undefined): FakeVm | undefined {
    this.calls.push(m === undefined ? method : `${method} ${m.spec.name}`);
    if (this.failing.has(method)) throw new BoxfestError('INTERNAL', `fake ${method} failed`);
    return m === undefined ? undefined : this.vms.get(m.spec.name);
  }

  private vm(method: Method, m: MachineContext): FakeVm {
    const vm = this.call(method, m);
    if (vm === undefined) throw new Error(`fake: ${method} of ${m.spec.name}, which does not exist`);
    return vm;
  }

  inspect(m: MachineContext): Promise<ActualMachine> {
    const vm = this.call('inspect', m);
    const name = m.spec.name;
    if (vm === undefined) return Promise.resolve({ name, state: 'not_created' });
    if (!vm.disk)
      return Promise.resolve({ name, state: 'broken', broken: 'disk-missing', reason: 'its disk is gone' });
    return Promise.resolve({ name, state: vm.state, ...(vm.state === 'halted' ? {} : { ssh: FAKE_SSH }) });
  }

  importBox(m: MachineContext, _box: Box): Promise<void> {
    this.call('importBox', m);
    return Promise.resolve();
  }

  create(m: MachineContext, box: Box): Promise<void> {
    if (this.call('create', m) === undefined)
      this.vms.set(m.spec.name, { state: 'halted', disk: true, box: box.name });
    return Promise.resolve();
  }

  start(m: MachineContext, _box: Box): Promise<StartResult> {
    this.vm('start', m).state = 'running';
    return Promise.resolve({ ssh: FAKE_SSH, accel: 'fake' });
  }

  stop(m: MachineContext, _opts: { force: boolean; timeoutMs: number }): Promise<void> {
    const vm = this.call('stop', m);
    if (vm !== undefined) vm.state = 'halted';
    return Promise.resolve();
  }

  destroy(m: MachineContext): Promise<void> {
    this.call('destroy', m);
    this.vms.delete(m.spec.name);
    return Promise.resolve();
  }

  suspend(m: MachineContext): Promise<void> {
    this.vm('suspend', m).state = 'suspended';
    return Promise.resolve();
  }

  resume(m: MachineContext): Promise<void> {
    this.vm('resume', m).state = 'running';
    return Promise.resolve();
  }

  consoleTail(_m: MachineContext, _lines: number): Promise<string> {
    return Promise.resolve('(fake console)');
  }
}
