// Reads the real vboxwebsrv's state through SOAP, for assertions (never through boxfest's CLI).
import { withWebsession, type Ref, type Websession } from '../../../src/providers/virtualbox/invoke.js';

export interface ServerMachine {
  name: string;
  memory: number;
  cpus: number;
  osType: string;
  state: string;
  extraData: Record<string, string>;
  nics: {
    slot: number;
    attachment: string;
    hostOnly: string;
    bridged: string;
    /** As VirtualBox gives it: 12 hex digits, no colons. */
    mac: string;
    redirects: string[];
  }[];
}

/** The server the global setup started and proved its own; never a default port someone else may hold. */
export function vboxUrl(): string {
  const url = process.env['BOXFEST_VBOX_URL'];
  if (url === undefined || url === '')
    throw new Error('BOXFEST_VBOX_URL is unset: the global setup did not run');
  return url;
}

export function onServer<T>(home: string, body: (s: Websession) => Promise<T>): Promise<T> {
  return withWebsession({ home, url: vboxUrl(), user: '', password: '' }, body);
}

async function describe(s: Websession, m: Ref): Promise<ServerMachine> {
  const call = <T>(op: Parameters<Websession['call']>[0], args: Record<string, unknown>) =>
    s.call<T>(op, args);
  const extraData: Record<string, string> = {};
  for (const key of await call<string[]>('IMachine_getExtraDataKeys', { _this: m }))
    if (key.startsWith('boxfest/'))
      extraData[key] = await call<string>('IMachine_getExtraData', { _this: m, key });
  const nics: ServerMachine['nics'] = [];
  for (let slot = 0; slot < 4; slot++) {
    const n = await call<Ref>('IMachine_getNetworkAdapter', { _this: m, slot });
    if (!(await call<boolean>('INetworkAdapter_getEnabled', { _this: n }))) continue;
    const engine = await call<Ref>('INetworkAdapter_getNATEngine', { _this: n });
    nics.push({
      slot,
      attachment: await call<string>('INetworkAdapter_getAttachmentType', { _this: n }),
      hostOnly: await call<string>('INetworkAdapter_getHostOnlyInterface', { _this: n }),
      bridged: await call<string>('INetworkAdapter_getBridgedInterface', { _this: n }),
      mac: await call<string>('INetworkAdapter_getMACAddress', { _this: n }),
      redirects: await call<string[]>('INATEngine_getRedirects', { _this: engine }),
    });
  }
  return {
    name: await call<string>('IMachine_getName', { _this: m }),
    memory: await call<number>('IMachine_getMemorySize', { _this: m }),
    cpus: await call<number>('IMachine_getCPUCount', { _this: m }),
    osType: await call<string>('IMachine_getOSTypeId', { _this: m }),
    state: await call<string>('IMachine_getState', { _this: m }),
    extraData,
    nics,
  };
}

/** Every registered machine, with what the tests check. */
export function serverMachines(home: string): Promise<ServerMachine[]> {
  return onServer(home, async (s) => {
    const out: ServerMachine[] = [];
    for (const m of await s.call<Ref[]>('IVirtualBox_getMachines', { _this: s.vbox }))
      out.push(await describe(s, m));
    return out;
  });
}

/** Locations of every registered hard disk and their children (diffs). */
export interface ServerDisk {
  id: string;
  location: string;
  /** UUID of the parent, '' for a base medium. */
  parent: string;
  type: string;
  autoReset: boolean;
}

export function serverHardDisks(home: string): Promise<ServerDisk[]> {
  return onServer(home, async (s) => {
    const out: ServerDisk[] = [];
    const walk = async (ref: Ref, parent: string): Promise<void> => {
      const id = await s.call<string>('IMedium_getId', { _this: ref });
      out.push({
        id,
        location: await s.call<string>('IMedium_getLocation', { _this: ref }),
        parent,
        type: await s.call<string>('IMedium_getType', { _this: ref }),
        autoReset: await s.call<boolean>('IMedium_getAutoReset', { _this: ref }),
      });
      for (const c of await s.call<Ref[]>('IMedium_getChildren', { _this: ref })) await walk(c, id);
    };
    for (const hd of await s.call<Ref[]>('IVirtualBox_getHardDisks', { _this: s.vbox })) await walk(hd, '');
    return out;
  });
}

/**
 * Last-resort cleanup after a test, even a failed one: machines tagged with a project under
 * `base` (only their recorded media deleted), then media under `base` closed (the box image
 * itself is a file under `base` and goes with the temp tree).
 */
export function cleanServer(home: string, base: string): Promise<void> {
  return onServer(home, async (s) => {
    for (const m of await s.call<Ref[]>('IVirtualBox_getMachines', { _this: s.vbox })) {
      const project = await s.call<string>('IMachine_getExtraData', { _this: m, key: 'boxfest/project' });
      if (!project.startsWith(base)) continue;
      const ours = JSON.parse(
        (await s.call<string>('IMachine_getExtraData', { _this: m, key: 'boxfest/media' })) || '[]',
      ) as string[];
      const media = await s.call<Ref[]>('IMachine_unregister', {
        _this: m,
        cleanupMode: 'DetachAllReturnHardDisksOnly',
      });
      const del: Ref[] = [];
      for (const d of media)
        if (ours.includes(await s.call<string>('IMedium_getLocation', { _this: d }))) del.push(d);
      await s.wait(await s.call('IMachine_deleteConfig', { _this: m, media: del }), 'IMachine_deleteConfig');
    }
    const close = async (ref: Ref): Promise<void> => {
      for (const c of await s.call<Ref[]>('IMedium_getChildren', { _this: ref })) await close(c);
      if ((await s.call<string>('IMedium_getLocation', { _this: ref })).startsWith(base))
        await s.call<void>('IMedium_close', { _this: ref });
    };
    for (const hd of await s.call<Ref[]>('IVirtualBox_getHardDisks', { _this: s.vbox })) await close(hd);
  });
}
