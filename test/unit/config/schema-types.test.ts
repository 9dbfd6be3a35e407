// schemas/boxfile.schema.json is the source of truth; src/config/types.ts must say the same.
// Each `satisfies` fails to compile if a type gains or loses a key; each test fails if the schema
// does. Together they keep both in step, for every Written type.

import { describe, expect, it } from 'vitest';
import { compiledSchema, loadSchema } from '../../../src/config/validate.js';
import type {
  DiskInterface,
  NetworkType,
  PortProtocol,
  QemuAccel,
  TriggerOnError,
  TriggerWhen,
  WrittenBoxfile,
  WrittenDataDisk,
  WrittenForwardedPort,
  WrittenMachine,
  WrittenMachineNetwork,
  WrittenNetwork,
  WrittenProfile,
  WrittenProvisioner,
  WrittenQemu,
  WrittenSsh,
  WrittenSyncedFolder,
  WrittenTrigger,
  WrittenVirtualbox,
  WrittenLibvirt,
  WrittenHost,
} from '../../../src/config/types.js';
import { PROVIDER_NAMES, SYNCED_FOLDER_TYPES, TRIGGER_EVENTS } from '../../../src/config/types.js';
import { SIZE_PATTERN } from '../../../src/config/units.js';

type Schema = { [key: string]: unknown; properties?: Record<string, Schema> };

const schema = loadSchema() as Schema;
const defs = schema.$defs as Record<string, Schema>;

const keys = {
  WrittenBoxfile: {
    version: true,
    provider: true,
    virtualbox: true,
    libvirt: true,
    hosts: true,
    defaults: true,
    profiles: true,
    networks: true,
    machines: true,
  } satisfies Record<keyof WrittenBoxfile, true>,
  WrittenMachine: {
    host: true,
    box: true,
    box_version: true,
    box_url: true,
    box_checksum: true,
    profile: true,
    cpus: true,
    memory: true,
    disk_size: true,
    hostname: true,
    networks: true,
    forwarded_ports: true,
    synced_folders: true,
    provision: true,
    triggers: true,
    ssh: true,
    boot_timeout: true,
    autostart: true,
    primary: true,
    instant: true,
    cloud_init: true,
    disks: true,
    qemu: true,
    virtualbox: true,
  } satisfies Record<keyof WrittenMachine, true>,
  WrittenDataDisk: { name: true, size: true } satisfies Record<keyof WrittenDataDisk, true>,
  WrittenProfile: { cpus: true, memory: true, disk_size: true } satisfies Record<keyof WrittenProfile, true>,
  WrittenNetwork: { type: true, cidr: true, dhcp: true, interface: true } satisfies Record<
    keyof WrittenNetwork,
    true
  >,
  WrittenMachineNetwork: { network: true, ip: true, dhcp: true, mac: true } satisfies Record<
    keyof WrittenMachineNetwork,
    true
  >,
  WrittenForwardedPort: {
    guest: true,
    host: true,
    host_ip: true,
    protocol: true,
    auto_correct: true,
  } satisfies Record<keyof WrittenForwardedPort, true>,
  WrittenSsh: { user: true, port: true, private_key: true, forward_agent: true } satisfies Record<
    keyof WrittenSsh,
    true
  >,
  WrittenSyncedFolder: {
    type: true,
    src: true,
    dest: true,
    exclude: true,
    delete: true,
    chown: true,
    args: true,
    auto: true,
    disabled: true,
  } satisfies Record<keyof WrittenSyncedFolder, true>,
  WrittenProvisioner: {
    name: true,
    run: true,
    shell: true,
    shell_path: true,
    args: true,
    env: true,
    privileged: true,
    file: true,
    dest: true,
    ansible: true,
    ansible_local: true,
    extra_vars: true,
    groups: true,
    limit: true,
    tags: true,
    skip_tags: true,
    scope: true,
  } satisfies Record<keyof WrittenProvisioner, true>,
  WrittenTrigger: {
    name: true,
    on: true,
    when: true,
    run: true,
    run_remote: true,
    on_error: true,
  } satisfies Record<keyof WrittenTrigger, true>,
  WrittenQemu: {
    accel: true,
    restrict_network: true,
    disk_interface: true,
    extra_args: true,
  } satisfies Record<keyof WrittenQemu, true>,
  WrittenVirtualbox: { url: true, gui: true, linked_clone: true, os_type: true } satisfies Record<
    keyof WrittenVirtualbox,
    true
  >,
  WrittenHost: { uri: true, pool: true, management_network: true, address: true } satisfies Record<
    keyof WrittenHost,
    true
  >,
  WrittenLibvirt: { uri: true, pool: true, management_network: true } satisfies Record<
    keyof WrittenLibvirt,
    true
  >,
};

const keysOf = (s: Schema | undefined): string[] => Object.keys(s?.properties ?? {}).sort();
const prop = (def: string, key: string): Schema | undefined => defs[def]?.properties?.[key];

describe('schema and types agree', () => {
  it.each<[keyof typeof keys, Schema | undefined]>([
    ['WrittenBoxfile', schema],
    ['WrittenMachine', defs.machine],
    ['WrittenProfile', defs.profile],
    ['WrittenNetwork', defs.network],
    ['WrittenMachineNetwork', defs.machineNetwork],
    ['WrittenForwardedPort', defs.forwardedPort],
    ['WrittenSsh', defs.ssh],
    ['WrittenSyncedFolder', defs.syncedFolder],
    ['WrittenProvisioner', defs.provisioner],
    ['WrittenTrigger', defs.trigger],
    ['WrittenQemu', defs.qemu],
    ['WrittenVirtualbox', defs.virtualbox],
    ['WrittenLibvirt', defs.libvirt],
    ['WrittenHost', defs.libvirtHost],
    ['WrittenDataDisk', defs.dataDisk],
  ])('%s', (name, sub) => {
    expect(keysOf(sub)).toEqual(Object.keys(keys[name]).sort());
  });

  it('lists the same enum values', () => {
    expect(schema.properties?.provider?.enum).toEqual([...PROVIDER_NAMES]);
    expect(prop('provisioner', 'run')?.enum).toEqual([
      'once',
      'always',
      'never',
    ] satisfies WrittenProvisioner['run'][]);
    expect(prop('network', 'type')?.enum).toEqual(['private', 'bridged'] satisfies NetworkType[]);
    expect(prop('forwardedPort', 'protocol')?.enum).toEqual(['tcp', 'udp'] satisfies PortProtocol[]);
    expect(prop('qemu', 'accel')?.enum).toEqual(['auto', 'kvm', 'tcg'] satisfies QemuAccel[]);
    expect(prop('qemu', 'disk_interface')?.enum).toEqual(['virtio', 'nvme'] satisfies DiskInterface[]);
    expect(prop('syncedFolder', 'type')?.enum).toEqual([...SYNCED_FOLDER_TYPES]);
    expect(defs.triggerEvent?.enum).toEqual([...TRIGGER_EVENTS]);
    expect(prop('trigger', 'when')?.enum).toEqual(['before', 'after'] satisfies TriggerWhen[]);
    expect(prop('trigger', 'on_error')?.enum).toEqual(['halt', 'continue'] satisfies TriggerOnError[]);
  });

  it('uses the size pattern units.ts parses', () => {
    for (const where of [
      prop('machine', 'memory'),
      prop('machine', 'disk_size'),
      prop('profile', 'memory'),
    ]) {
      expect(where?.pattern).toBe(SIZE_PATTERN.source);
      expect(where?.type).toEqual(['integer', 'string']);
    }
  });
});

describe('the schema itself', () => {
  it('compiles under ajv strict mode', () => {
    expect(() => compiledSchema()).not.toThrow();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof schema.$id).toBe('string');
  });

  // Editors show `description` on hover, and a closed object is what makes typos errors.
  it('documents every key and closes every object', () => {
    // Mappings keyed by user-chosen names: their values are closed instead.
    const named = [
      '#/properties/machines',
      '#/properties/profiles',
      '#/properties/networks',
      '#/properties/hosts',
      '#/$defs/provisioner/properties/groups',
    ];
    // cloud-init user-data: the keys boxfest checks are listed, any other goes to cloud-init as written.
    // Ansible's extra_vars: the playbook's own variables.
    const open = ['#/$defs/cloudInit', '#/$defs/provisioner/properties/extra_vars'];
    const problems: string[] = [];
    const walk = (s: Schema, where: string): void => {
      if (
        s.type === 'object' &&
        !named.includes(where) &&
        !open.includes(where) &&
        s.additionalProperties !== false
      ) {
        problems.push(`${where}: additionalProperties is not false`);
      }
      for (const [key, sub] of Object.entries(s.properties ?? {})) {
        if (typeof sub.description !== 'string') problems.push(`${where}/properties/${key}: no description`);
        walk(sub, `${where}/properties/${key}`);
      }
    };
    walk(schema, '#');
    for (const [name, def] of Object.entries(defs)) walk(def, `#/$defs/${name}`);
    expect(problems).toEqual([]);
  });

  it("gives every default as a value of the key's own type", () => {
    const validate = compiledSchema();
    const m = {
      cpus: prop('machine', 'cpus')?.default,
      memory: prop('machine', 'memory')?.default,
      boot_timeout: prop('machine', 'boot_timeout')?.default,
      autostart: prop('machine', 'autostart')?.default,
      primary: prop('machine', 'primary')?.default,
    };
    expect(m).toEqual({ cpus: 1, memory: 512, boot_timeout: 120, autostart: true, primary: false });
    expect(validate({ version: 1, machines: { web: { box: 'a', ...m } } })).toBe(true);
  });
});
