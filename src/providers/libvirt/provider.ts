// The libvirt provider: a machine is a libvirt domain tagged with its owner in <metadata>, whose
// disk is a qcow2 overlay volume on the box's volume in a storage pool. It talks to the daemon
// over libvirt's RPC protocol (client.ts, the one choke point). SSH goes straight to the guest's
// DHCP lease on the management network, which a libvirt host routes; forwarded ports are relayed
// by a boxfest process (forwarder.ts). A cloud-init box's NoCloud seed is a read-only volume
// beside the overlay, uploaded before each boot (seed.ts).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Box } from '../../boxes/store.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import { readLeases } from '../../network/leases.js';
import { macFor, machineNics } from '../../network/nics.js';
import { withBootPorts } from '../../network/ports.js';
import { stableJson, type AppliedSpec } from '../../state/applied.js';
import type { JumpHost } from '../../ssh/client.js';
import { readMachineState, sshEndpointOf, updateMachineState } from '../../state/machine-state.js';
import { boxfestHome } from '../../state/paths.js';
import { sleep } from '../../state/process.js';
import { killIfAsked } from '../../util/fault.js';
import { liveShares } from '../../sync/shares.js';
import { serialized, shared } from '../../util/shared.js';
import type { Lister, OwnedMachine, SnapshotInfo, Snapshotter, Suspender } from '../optional.js';
import type { ActualMachine, MachineContext, Provider, StartResult } from '../provider.js';
import { clientFor, type LibvirtClient } from './client.js';
import {
  domainFacts,
  domainXml,
  METADATA_NS,
  parseOwnerTag,
  type DomainNic,
  type DomainShare,
  type OwnerTag,
} from './domain-xml.js';
import { isCode } from './errors.js';
import { forwarderPid, forwarderSuccessor, startForwarder, stopForwarder } from './forwards.js';
import { hostSpecOf, jumpHostOf } from './remote-host.js';
import { domainName, overlayVolumeName, privateNetworkName, seedVolumeName } from './names.js';
import {
  bridgedNic,
  dhcpHostsOf,
  ensureManagementNetwork,
  ensurePrivateNetwork,
  type KeepNetwork,
  releasePrivateNetworks,
  stopUnusedPrivateNetworks,
} from './networks.js';
import { serialLogPath } from './paths.js';
import { reconcileSpan, removeSpan } from './span.js';
import { dhcpHomeFailed, hostUri, networkCopy, remoteDhcpHome, servesOtherHosts } from './dhcp-home.js';
import { runAsRoot } from './host-exec.js';
import { networkFacts } from './network-xml.js';
import { DomainState, Flags, ShutoffReason } from './rpc/procedures.js';
import { uuidText, type DomainRef } from './rpc/wire.js';
import {
  deleteLibvirtSnapshot,
  listLibvirtSnapshots,
  restoreLibvirtSnapshot,
  saveLibvirtSnapshot,
} from './snapshot.js';
import { isSeedVolume, putSeedVolume } from './seed.js';
import {
  createOverlay,
  deleteVolume,
  ensureBoxVolume,
  findVolume,
  isBoxOverlay,
  openPool,
} from './volumes.js';
import { startAfterFailedStart } from './start-fallback.js';

/** How often a boot, a halt or an address is polled for. */
const POLL_MS = 250;
/** Boxes whose disk libvirt can attach, by the box's disk interface. */
const DISK_BUS = { virtio: 'virtio' } as const;

/**
 * The machine's live shared folders as `<filesystem>` devices; the shared sync-folders step mounts
 * them in the guest as on QEMU. The directories are the host's: libvirt is local (remote URIs are
 * refused when the Boxfile is checked).
 */
const domainShares = (m: MachineContext): DomainShare[] =>
  liveShares(m.spec).map(({ type, tag, src }) => ({ type, tag, src }));

/** Where a machine lives: the daemon and pool it was created on (state.json), else the Boxfile's. */
function placeOf(m: MachineContext): { uri: string; pool: string } {
  const recorded = readMachineState(m.env.root, m.spec.name)?.applied.libvirt;
  return recorded ?? { uri: m.spec.libvirt.uri, pool: m.spec.libvirt.pool };
}

interface Owned {
  dom: DomainRef;
  owner: OwnerTag;
}

interface ListedDomain {
  dom: DomainRef;
  state?: number;
  reason?: number;
}

/** The daemon's domains and their states being asked for now, by daemon (see hostDomains). */
const listing = new Map<string, Promise<Map<string, ListedDomain>>>();

/**
 * Every domain of the daemon with its state, in one call (CONNECT_GET_ALL_DOMAIN_STATS): the
 * machines a command inspects at once (`status`, `plan`, `up` of a lab on a host) share the
 * answer instead of asking about each domain, so a host is asked once however many machines it
 * runs. Shared only while the call is under way: a later caller asks afresh.
 * Measured: for about a second after a domain's QEMU dies, while libvirtd reaps it and stops the
 * domain, a listing waits for it and still answers `running` (a lookup made just after answers
 * crashed); libvirt's own word is all any caller gets, and the next command sees the crash.
 */
function hostDomains(c: LibvirtClient): Promise<Map<string, ListedDomain>> {
  let p = listing.get(c.uri.text);
  if (p === undefined) {
    p = c.api.allDomainStats([], Flags.STATS_STATE).then(
      (stats) =>
        new Map(
          stats.map((s) => [
            s.dom.name,
            {
              dom: s.dom,
              // Missing when the daemon could not read it (a domain going away): asked for alone then.
              ...(s.params.has('state.state')
                ? {
                    state: Number(s.params.get('state.state')),
                    reason: Number(s.params.get('state.reason') ?? 0),
                  }
                : {}),
            },
          ]),
        ),
    );
    const key = c.uri.text;
    listing.set(key, p);
    void p.finally(() => listing.delete(key)).catch(() => undefined);
  }
  return p;
}

export class LibvirtProvider implements Provider, Suspender, Snapshotter, Lister {
  readonly name = 'libvirt' as const;
  /** The store's qcow2 boxes, uploaded into the pool. */
  readonly boxFormat = 'qemu';
  readonly keepsCreated = false;
  readonly offersIdentity = false;

  /** Hosts (URIs) where KVM failed to start a guest in this run: their next boots use TCG. */
  private readonly kvmFailed = new Set<string>();

  constructor(private readonly processEnv: NodeJS.ProcessEnv = process.env) {}

  private get home(): string {
    return boxfestHome(this.processEnv);
  }

  private client(m: MachineContext): Promise<LibvirtClient> {
    return clientFor(placeOf(m).uri);
  }

  /**
   * The machine's domain when it exists. One with the machine's name that boxfest did not tag for
   * this project and machine is refused (never touched). `listed`: the daemon's domains as one
   * batched call found them (inspect), instead of a lookup of this one.
   */
  private async owned(
    c: LibvirtClient,
    m: MachineContext,
    listed?: ReadonlyMap<string, ListedDomain>,
  ): Promise<Owned | undefined> {
    const name = domainName(m.env, m.spec.name);
    let dom: DomainRef;
    if (listed !== undefined) {
      const found = listed.get(name);
      if (found === undefined) return undefined;
      dom = found.dom;
    } else
      try {
        dom = await c.api.lookupDomain(name);
      } catch (e) {
        if (isCode(e, 'LIBVIRT_NO_DOMAIN')) return undefined;
        throw e;
      }
    let owner: OwnerTag | undefined;
    try {
      owner = parseOwnerTag(await c.api.getMetadata(dom, METADATA_NS));
    } catch (e) {
      if (!isCode(e, 'LIBVIRT_NOT_OURS')) throw e;
    }
    if (owner?.project !== m.env.root || owner.machine !== m.spec.name)
      throw new BoxfestError(
        'LIBVIRT_NOT_OURS',
        `${c.uri.text} has a domain named ${name} that boxfest did not create for ${m.env.root} (owner: ${owner?.project ?? 'none'})`,
        {
          machine: m.spec.name,
          hint: 'rename or remove that domain (virsh undefine); boxfest never changes a domain it does not own',
        },
      );
    return { dom, owner };
  }

  async inspect(m: MachineContext): Promise<ActualMachine> {
    const name = m.spec.name;
    const state = readMachineState(m.env.root, name);
    const c = await this.client(m);
    const listed = await hostDomains(c);
    const entry = listed.get(domainName(m.env, name));
    // The domain with the machine's name and the UUID boxfest recorded when it defined it is
    // boxfest's: the host's one listing is then all inspect asks of it for a running machine.
    // Without that record (a fresh checkout, a machine made before vmId) its tag is read.
    const known = entry !== undefined && state?.vmId !== undefined && state.vmId === uuidText(entry.dom.uuid);
    const found: { dom: DomainRef; owner?: OwnerTag } | undefined = known
      ? { dom: entry.dom }
      : await this.owned(c, m, listed);
    if (found === undefined) {
      if (state === undefined) return { name, state: 'not_created' };
      return {
        name,
        state: 'broken',
        broken: 'unknown-vm',
        reason: `libvirt has no domain ${domainName(m.env, name)} (removed outside boxfest, or left half made)`,
      };
    }
    const applied = found.owner === undefined ? undefined : appliedOf(found.owner);
    const extra = {
      ...(state?.accel === undefined ? {} : { accel: state.accel }),
      ...(state === undefined && applied !== undefined ? { applied } : {}),
    };
    const batched = listed.get(found.dom.name);
    const { state: s, reason } =
      batched?.state === undefined
        ? await c.api.domainState(found.dom)
        : { state: batched.state, reason: batched.reason ?? 0 };
    const at = state?.sshHost === undefined ? undefined : sshEndpointOf(state);
    const ssh = at === undefined ? {} : { ssh: at };
    if (s === DomainState.RUNNING || s === DomainState.BLOCKED || s === DomainState.SHUTDOWN) {
      // Forwarded ports are part of a running machine: without its forwarder it is not whole.
      if ((state?.ports ?? []).length > 0 && forwarderPid(m.paths.dir) === undefined)
        return {
          name,
          state: 'broken',
          broken: 'process-gone',
          reason: 'its port forwarder is gone (killed?): `boxfest up` starts it again',
          ...extra,
        };
      return { name, state: 'running', ...extra, ...ssh };
    }
    if (s === DomainState.PAUSED || s === DomainState.PMSUSPENDED)
      return { name, state: 'suspended', ...extra, ...ssh };
    const { pool } = placeOf(m);
    const owner = found.owner ?? (await this.owned(c, m))?.owner;
    const disk = owner?.volumes[0];
    const c2 = c;
    const volume =
      disk === undefined ? undefined : await findVolume(c2, await openPool(c2, disk.pool || pool), disk.name);
    if (volume === undefined)
      return {
        name,
        state: 'broken',
        broken: 'disk-missing',
        reason: `its disk volume ${disk?.name ?? '(none recorded)'} is missing`,
      };
    if (s === DomainState.CRASHED || (s === DomainState.SHUTOFF && reason === ShutoffReason.CRASHED))
      return {
        name,
        state: 'broken',
        broken: 'process-gone',
        reason: 'its QEMU process was killed or crashed',
        ...extra,
      };
    return { name, state: 'halted', ...extra };
  }

  async importBox(m: MachineContext, box: Box, progress?: (line: string) => void): Promise<void> {
    diskBus(m, box);
    const { uri, pool } = placeOf(m);
    const c = await this.client(m);
    // The machine that starts the upload tells its progress; the others wait on the same one.
    await shared(`libvirt-box\0${uri}\0${pool}\0${box.sha256}`, () =>
      ensureBoxVolume(c, this.home, pool, box, progress ?? (() => undefined)),
    );
  }

  /** The overlay volume on the box's, and the domain (shut off) that boots from it. */
  async create(m: MachineContext, box: Box): Promise<void> {
    const bus = diskBus(m, box);
    const c = await this.client(m);
    const existing = await this.owned(c, m);
    if (existing !== undefined) return this.recordVmId(m, existing.dom);
    const { pool } = placeOf(m);
    const overlay = overlayVolumeName(m.env, m.spec.name);
    // An overlay without its domain is left from a crash before the domain was defined: boxfest's
    // by its name (project hash and machine), and never booted.
    await deleteVolume(c, pool, overlay, isBoxOverlay);
    const base = await ensureBoxVolume(c, this.home, pool, box, () => undefined);
    await createOverlay(c, pool, overlay, base);
    const dom = await c.api.defineDomain(
      domainXml({
        name: domainName(m.env, m.spec.name),
        virtType: 'qemu',
        memoryMiB: m.spec.memory,
        cpus: m.spec.cpus,
        disk: { pool, volume: overlay, bus },
        nics: [],
        serialLog: serialLogPath(domainName(m.env, m.spec.name)),
        shares: domainShares(m),
        owner: this.ownerTag(m, pool, new Date().toISOString()),
      }),
    );
    this.recordVmId(m, dom);
  }

  /** The domain's UUID in the machine's state: inspect knows it as boxfest's by it (see inspect). */
  private recordVmId(m: MachineContext, dom: DomainRef): void {
    const vmId = uuidText(dom.uuid);
    updateMachineState(m.env.root, m.spec.name, (s) => (s.vmId === vmId ? s : { ...s, vmId }));
  }

  private ownerTag(m: MachineContext, pool: string, createdAt: string): OwnerTag {
    const applied: AppliedSpec | undefined = readMachineState(m.env.root, m.spec.name)?.applied;
    const json = applied === undefined ? undefined : stableJson(applied);
    return {
      project: m.env.root,
      machine: m.spec.name,
      digest: json === undefined ? '' : createHash('sha256').update(json).digest('hex'),
      createdAt,
      // The disk first (inspect reads it as the machine's disk), then a cloud-init box's seed.
      volumes: [
        { pool, name: overlayVolumeName(m.env, m.spec.name) },
        ...(isCloudInit(m) ? [{ pool, name: seedVolumeName(m.env, m.spec.name) }] : []),
      ],
      ...(json === undefined ? {} : { applied: json }),
    };
  }

  private networksKey(c: LibvirtClient, m: MachineContext): string {
    return `libvirt-networks\0${c.uri.text}\0${m.env.root}`;
  }

  /** Whether the host can run KVM domains (asked once per daemon per process). */
  private kvm(c: LibvirtClient): Promise<boolean> {
    const forced = this.processEnv['BOXFEST_LIBVIRT_VIRT_TYPE'];
    if (forced === 'qemu' || forced === 'kvm') return Promise.resolve(forced === 'kvm');
    if (this.kvmFailed.has(c.uri.text)) return Promise.resolve(false);
    return shared(`libvirt-kvm\0${c.uri.text}`, () =>
      c.api.domainCapabilities('kvm').then(
        () => true,
        () => false,
      ),
    );
  }

  /** NIC 0 on the management network, then one per `networks:` attachment, in order. */
  private async nics(c: LibvirtClient, m: MachineContext): Promise<DomainNic[]> {
    const mgmt = m.spec.libvirt.managementNetwork;
    await shared(`libvirt-net\0${c.uri.text}\0${mgmt}`, () => ensureManagementNetwork(c, mgmt));
    const nics = machineNics(m.env, m.spec, (n) => readLeases(m.env.root, n));
    const out: DomainNic[] = [{ kind: 'network', network: mgmt, mac: macFor(m.env.root, m.spec.name, 0) }];
    for (const nic of nics) {
      if (nic.kind === 'bridged') {
        out.push(await bridgedNic(c, m.spec.name, nic.network, nic.bridge, nic.mac));
        continue;
      }
      const net = m.env.networks.find((n) => n.name === nic.network);
      if (net?.type !== 'private') throw new Error(`internal: network ${nic.network} is not private`);
      const host = m.spec.libvirt.host;
      const reservations = dhcpHostsOf(m.spec.name, nics, net.name);
      // Its DHCP server on another host first: the guest asks for its lease as it boots.
      const home = remoteDhcpHome(m.env, net, host);
      if (home !== undefined)
        await this.onDhcpHome(m, net.name, home, async (hc) => {
          const onHome = await ensurePrivateNetwork(
            hc,
            m.env,
            net,
            networkCopy(m.env, net, home),
            reservations,
          );
          await this.span(hc, m.env, home, net.name, onHome);
        });
      const name = await ensurePrivateNetwork(c, m.env, net, networkCopy(m.env, net, host), reservations);
      if (host !== undefined) await this.span(c, m.env, host, net.name, name);
      out.push({ kind: 'network', network: name, mac: nic.mac });
    }
    return out;
  }

  /**
   * With `hosts:`, a private network's VXLAN link on `host` to the other hosts its machines run on
   * (span.ts), made (or checked) at each boot on it, or removed when no machine elsewhere is on it.
   */
  private async span(
    c: LibvirtClient,
    env: MachineContext['env'],
    host: string,
    network: string,
    libvirtName: string,
  ): Promise<void> {
    // Every boot on it (not once per process): a halt in between may have removed the link.
    const ref = await c.api.lookupNetwork(libvirtName);
    const { bridge } = networkFacts(await c.api.networkXml(ref, 0));
    await reconcileSpan(c, env, network, host, bridge);
  }

  /**
   * `act` on the host that serves a spanning network's DHCP (dhcp-home.ts), in the turn of that
   * host's networks. Its failure (the host down, say) fails the machine's step with what it was
   * for: the guest would boot without its lease.
   */
  private async onDhcpHome(
    m: MachineContext,
    network: string,
    home: string,
    act: (c: LibvirtClient) => Promise<void>,
    doing?: string,
  ): Promise<void> {
    try {
      const hc = await clientFor(hostUri(m.env, home));
      await serialized(this.networksKey(hc, m), () => act(hc));
    } catch (e) {
      throw dhcpHomeFailed(m.spec.name, network, home, e, doing);
    }
  }

  /** Whether a network copy no domain on this host uses stays: it serves other hosts' DHCP. */
  private keepServing(m: MachineContext): KeepNetwork {
    return (name, reservations) => servesOtherHosts(m.env, m.spec.libvirt.host, name, reservations);
  }

  /** With `hosts:`, the VXLAN links of the project's networks this host no longer runs. */
  private async unspan(c: LibvirtClient, m: MachineContext, gone: readonly string[]): Promise<void> {
    if (m.spec.libvirt.host === undefined) return;
    for (const net of m.env.networks)
      if (gone.includes(privateNetworkName(m.env, net.name))) await removeSpan(c, m.env, net.name);
  }

  async start(m: MachineContext, box: Box): Promise<StartResult> {
    const c = await this.client(m);
    const found = await this.require(c, m);
    const { state } = await c.api.domainState(found.dom);
    if (state === DomainState.PAUSED) await c.api.resumeDomain(found.dom);
    const recorded = readMachineState(m.env.root, m.spec.name);
    if (
      (state === DomainState.RUNNING || state === DomainState.PAUSED || state === DomainState.BLOCKED) &&
      recorded?.sshHost !== undefined
    ) {
      const accel = recorded.accel ?? 'tcg';
      await this.forwardPorts(m, c, recorded.sshHost);
      // As the host is now (its key re-pinned, another keyfile=): ssh_config is written from it.
      const jump = await this.jumpOf(c);
      updateMachineState(m.env.root, m.spec.name, ({ sshJump: _, ...s }) => ({
        ...s,
        ...(jump.jump === undefined ? {} : { sshJump: jump.jump }),
      }));
      return { ssh: { host: recorded.sshHost, port: m.spec.sshGuestPort, ...jump }, accel };
    }
    if (state !== DomainState.SHUTOFF && state !== DomainState.CRASHED) await c.api.destroyDomain(found.dom);
    const { pool } = placeOf(m);
    const bus = diskBus(m, box);
    const uuid = domainFacts(await c.api.domainXml(found.dom, Flags.XML_INACTIVE)).uuid;
    const seed = await this.uploadSeed(c, m, found.owner, pool);
    const define = (virtType: 'kvm' | 'qemu', nics: DomainNic[]) =>
      c.api.defineDomain(
        domainXml({
          name: found.dom.name,
          uuid,
          virtType,
          memoryMiB: m.spec.memory,
          cpus: m.spec.cpus,
          disk: { pool, volume: overlayVolumeName(m.env, m.spec.name), bus },
          ...(seed === undefined ? {} : { seed }),
          nics,
          serialLog: serialLogPath(found.dom.name),
          shares: domainShares(m),
          owner: this.ownerTag(m, pool, found.owner.createdAt),
        }),
      );
    let virtType: 'kvm' | 'qemu' = (await this.kvm(c)) ? 'kvm' : 'qemu';
    let note: string | undefined;
    // Networks made (or started) and the domain started in one turn per project: a machine that
    // halts meanwhile must not stop a network another is about to boot on.
    await serialized(this.networksKey(c, m), async () => {
      const nics = await this.nics(c, m);
      try {
        await c.api.startDomain(await define(virtType, nics));
      } catch (e) {
        if (virtType !== 'kvm') throw e;
        virtType = 'qemu';
        // This host's other machines in this run go straight to TCG.
        this.kvmFailed.add(c.uri.text);
        await startAfterFailedStart(c, () => define('qemu', nics));
        note = `KVM failed to start the guest (${errorMessage(e)}); fell back to TCG (software emulation)`;
      }
    });
    const accel = virtType === 'kvm' ? 'kvm' : 'tcg';
    updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, accel }));
    killIfAsked('libvirt-started');
    const ip = await this.address(c, m, found.dom);
    // Where SSH is, recorded before the ports: status shows it even if the forwarder fails. A
    // remote host's guest is reached through that host (its key as checked now, for ssh_config).
    const jump = await this.jumpOf(c);
    updateMachineState(m.env.root, m.spec.name, ({ sshJump: _, ...s }) => ({
      ...s,
      sshHost: ip,
      sshPort: m.spec.sshGuestPort,
      ...(jump.jump === undefined ? {} : { sshJump: jump.jump }),
    }));
    await this.forwardPorts(m, c, ip);
    return {
      ssh: { host: ip, port: m.spec.sshGuestPort, ...jump },
      accel,
      ...(note === undefined ? {} : { note }),
    };
  }

  /**
   * A cloud-init box's seed, as the write-seed step has just written it on this host, put into its
   * volume on the domain's host (created at the first boot, rewritten at each: the network-config
   * may have changed) while the domain is shut off. The domain's tag lists the volume from its
   * creation on (ownerTag), so a volume of that name is written only when the tag says it is ours.
   */
  private async uploadSeed(
    c: LibvirtClient,
    m: MachineContext,
    owner: OwnerTag,
    pool: string,
  ): Promise<{ pool: string; volume: string } | undefined> {
    if (!isCloudInit(m)) return undefined;
    if (!existsSync(m.paths.seed)) throw new Error(`internal: the seed ${m.paths.seed} was not written`);
    const volume = seedVolumeName(m.env, m.spec.name);
    const ours = owner.volumes.some((v) => v.name === volume && (v.pool || pool) === pool);
    await putSeedVolume(c, pool, volume, m.paths.seed, ours);
    return { pool, volume };
  }

  /** A remote host's guests are reached through the host's SSH server: the jump, as data. */
  private async jumpOf(c: LibvirtClient): Promise<{ jump?: JumpHost }> {
    if (c.uri.transport !== 'ssh') return {};
    return { jump: await jumpHostOf(c.uri) };
  }

  /**
   * The forwarded ports, relayed to `ip` by the machine's forwarder, which then holds them; for a
   * remote host's guest, through that host's SSH server.
   */
  private async forwardPorts(m: MachineContext, c: LibvirtClient, ip: string): Promise<void> {
    if (m.spec.forwardedPorts.length > 0 && forwarderPid(m.paths.dir) !== undefined) return;
    const via = c.uri.transport === 'ssh' ? { via: hostSpecOf(c.uri) } : {};
    await withBootPorts(
      this.home,
      {
        project: m.env.root,
        machine: m.spec.name,
        ssh: false,
        forwards: m.spec.forwardedPorts,
        successor: forwarderSuccessor(m.paths.dir),
      },
      async ({ forwards }) => {
        if (forwards.length === 0) {
          await stopForwarder(m.paths.dir);
          return undefined;
        }
        return startForwarder(
          m.paths.dir,
          m.spec.name,
          forwards.map((f) => ({
            protocol: f.protocol,
            hostIp: f.hostIp,
            host: f.host,
            guestIp: ip,
            guest: f.guest,
            ...via,
          })),
        );
      },
    );
  }

  /** The guest's address on the management network: its DHCP lease, else the guest agent's answer. */
  private async address(c: LibvirtClient, m: MachineContext, dom: DomainRef): Promise<string> {
    const mac = macFor(m.env.root, m.spec.name, 0);
    const net = await c.api.lookupNetwork(m.spec.libvirt.managementNetwork);
    const deadline = Date.now() + m.spec.bootTimeout * 1000;
    for (let round = 0; Date.now() < deadline; round++) {
      const lease = (await c.api.dhcpLeases(net, mac)).find((l) => l.type === 0);
      if (lease !== undefined) return lease.ip;
      if (round % 8 === 7) {
        const fromAgent = await c.api.interfaceAddresses(dom, Flags.ADDRESSES_AGENT).catch(() => []);
        const nic = fromAgent.find((i) => i.mac?.toLowerCase() === mac);
        const ip = nic?.addresses.find((a) => a.type === 0)?.address;
        if (ip !== undefined) return ip;
      }
      const { state } = await c.api.domainState(dom);
      if (state !== DomainState.RUNNING && state !== DomainState.BLOCKED) break;
      await sleep(POLL_MS);
    }
    throw new BoxfestError(
      'LIBVIRT_NO_ADDRESS',
      `the guest got no address on the management network \`${m.spec.libvirt.managementNetwork}\` within ${m.spec.bootTimeout} s`,
      {
        machine: m.spec.name,
        details: `last lines of its serial console:\n${await this.consoleTail(m, 25)}`,
        hint: 'the guest may not have booted, or its first NIC does not ask for DHCP: read its console, or raise `boot_timeout`',
      },
    );
  }

  async stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void> {
    const c = await this.client(m);
    const found = await this.owned(c, m);
    if (found !== undefined) await this.stopDomain(c, found.dom, opts);
    await stopForwarder(m.paths.dir);
    await serialized(this.networksKey(c, m), async () =>
      this.unspan(c, m, await stopUnusedPrivateNetworks(c, m.env, this.keepServing(m))),
    );
    if (readMachineState(m.env.root, m.spec.name)?.suspended === true)
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: false }));
  }

  private async stopDomain(
    c: LibvirtClient,
    dom: DomainRef,
    opts: { force: boolean; timeoutMs: number },
  ): Promise<void> {
    const active = async () => {
      const { state } = await c.api.domainState(dom);
      return state !== DomainState.SHUTOFF && state !== DomainState.CRASHED;
    };
    if (!(await active())) return;
    if (!opts.force) {
      // A paused guest cannot see the power button: continue it first.
      if ((await c.api.domainState(dom)).state === DomainState.PAUSED) await c.api.resumeDomain(dom);
      try {
        await c.api.shutdownDomain(dom, Flags.SHUTDOWN_ACPI_POWER_BTN);
        const until = Date.now() + opts.timeoutMs;
        while (Date.now() < until) {
          if (!(await active())) return;
          await sleep(POLL_MS);
        }
      } catch (e) {
        // Shut off meanwhile: done; anything else falls through to the forced path.
        if (!(await active())) return;
        if (!isCode(e, 'LIBVIRT_INVALID_STATE')) throw e;
      }
    }
    try {
      await c.api.destroyDomain(dom);
    } catch (e) {
      if (!isCode(e, 'LIBVIRT_INVALID_STATE') || (await active())) throw e;
    }
  }

  async destroy(m: MachineContext): Promise<void> {
    const c = await this.client(m);
    const { pool } = placeOf(m);
    const found = await this.owned(c, m);
    // `onlyIf`: known by name only (no tag lists it), so deleted only if it is what that name is for.
    const volumes = new Map<string, { pool: string; name: string; onlyIf?: (volXml: string) => boolean }>();
    // A create cut short: only if it is an overlay on a box.
    const overlay = { pool, name: overlayVolumeName(m.env, m.spec.name), onlyIf: isBoxOverlay };
    volumes.set(`${overlay.pool}/${overlay.name}`, overlay);
    // A cloud-init box's seed too (its domain removed outside boxfest): only if it is a seed (seed.ts).
    const seed = { pool, name: seedVolumeName(m.env, m.spec.name), onlyIf: isSeedVolume };
    if (isCloudInit(m)) volumes.set(`${seed.pool}/${seed.name}`, seed);
    let macs: string[] = [];
    if (found !== undefined) {
      await this.stopDomain(c, found.dom, { force: true, timeoutMs: 0 });
      macs = domainFacts(await c.api.domainXml(found.dom, Flags.XML_INACTIVE)).macs;
      for (const v of found.owner.volumes) volumes.set(`${v.pool}/${v.name}`, { pool: v.pool, name: v.name });
      await c.api.undefineDomain(
        found.dom,
        Flags.UNDEFINE_MANAGED_SAVE | Flags.UNDEFINE_SNAPSHOTS_METADATA | Flags.UNDEFINE_NVRAM,
      );
    }
    await stopForwarder(m.paths.dir);
    // Exactly the volumes boxfest made for the machine; the box's volume below them stays.
    for (const v of volumes.values()) await deleteVolume(c, v.pool, v.name, v.onlyIf);
    const gone = { macs, machine: m.spec.name };
    await serialized(this.networksKey(c, m), async () =>
      this.unspan(c, m, await releasePrivateNetworks(c, m.env, gone, this.keepServing(m))),
    );
    // Its reservations on the DHCP home of each spanning network it was on, on another host.
    for (const a of m.spec.networks) {
      const net = m.env.networks.find((n) => n.name === a.network);
      const home = net?.type === 'private' ? remoteDhcpHome(m.env, net, m.spec.libvirt.host) : undefined;
      if (home === undefined) continue;
      await this.onDhcpHome(
        m,
        a.network,
        home,
        async (hc) => {
          const keep: KeepNetwork = (name, reservations) => servesOtherHosts(m.env, home, name, reservations);
          await this.unspan(hc, m, await releasePrivateNetworks(hc, m.env, gone, keep));
        },
        "removing this machine's reservation there (its domain is gone already: run `destroy` again once the host is back)",
      );
    }
  }

  private async require(c: LibvirtClient, m: MachineContext): Promise<Owned> {
    const found = await this.owned(c, m);
    if (found === undefined)
      throw new BoxfestError('LIBVIRT_NO_DOMAIN', `machine ${m.spec.name} has no domain on ${c.uri.text}`, {
        machine: m.spec.name,
        hint: 'run `boxfest up` to create it',
      });
    return found;
  }

  /** The serial log's last lines: read here for a local daemon, over SSH on a remote host. */
  async consoleTail(m: MachineContext, lines: number): Promise<string> {
    const log = serialLogPath(domainName(m.env, m.spec.name));
    const c = await this.client(m).catch(() => undefined);
    if (c?.uri.transport === 'ssh')
      return runAsRoot(c, ['tail', '-n', String(lines), '--', log]).then(
        (text) => text.trimEnd(),
        (e: unknown) =>
          `(the serial console log ${log} on ${c.uri.text} could not be read: ${errorMessage(e)})`,
      );
    if (!existsSync(log))
      return `(the serial console log is on the libvirt host, at ${log}; it is readable there by root)`;
    try {
      return readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n').trimEnd();
    } catch {
      return `(the serial console log ${log} is not readable by this user)`;
    }
  }

  // --- optional capabilities
  async suspend(m: MachineContext): Promise<void> {
    const c = await this.client(m);
    const { dom } = await this.require(c, m);
    if ((await c.api.domainState(dom)).state !== DomainState.RUNNING) throw notRunning(m, 'suspend');
    await c.api.suspendDomain(dom);
  }

  async resume(m: MachineContext): Promise<void> {
    const c = await this.client(m);
    const { dom } = await this.require(c, m);
    await c.api.resumeDomain(dom);
  }

  async saveSnapshot(m: MachineContext, name: string): Promise<void> {
    const c = await this.client(m);
    await saveLibvirtSnapshot(c, (await this.require(c, m)).dom, name);
  }

  async restoreSnapshot(m: MachineContext, name: string): Promise<void> {
    const c = await this.client(m);
    await restoreLibvirtSnapshot(c, (await this.require(c, m)).dom, name);
  }

  async listSnapshots(m: MachineContext): Promise<SnapshotInfo[]> {
    const c = await this.client(m);
    return listLibvirtSnapshots(c, (await this.require(c, m)).dom);
  }

  async deleteSnapshot(m: MachineContext, name: string): Promise<void> {
    const c = await this.client(m);
    await deleteLibvirtSnapshot(c, (await this.require(c, m)).dom, name);
  }

  /** Every boxfest domain on the default daemon, whatever project it belongs to (global-status). */
  async listOwned(): Promise<OwnedMachine[]> {
    const uri = this.processEnv['LIBVIRT_DEFAULT_URI'] || 'qemu:///system';
    let c: LibvirtClient;
    try {
      c = await clientFor(uri);
    } catch {
      return []; // no daemon here: nothing of boxfest's on it either
    }
    const out: OwnedMachine[] = [];
    for (const dom of await c.api.listAllDomains()) {
      let owner: OwnerTag | undefined;
      let state: number;
      try {
        owner = parseOwnerTag(await c.api.getMetadata(dom, METADATA_NS));
        if (owner === undefined) continue;
        ({ state } = await c.api.domainState(dom));
      } catch (e) {
        // Undefined since the listing (another project's destroy, seen in CI): gone, not an error.
        if (isCode(e, 'LIBVIRT_NOT_OURS') || isCode(e, 'LIBVIRT_NO_DOMAIN')) continue;
        throw e;
      }
      out.push({
        project: owner.project,
        machine: owner.machine,
        state:
          state === DomainState.RUNNING || state === DomainState.BLOCKED
            ? 'running'
            : state === DomainState.PAUSED
              ? 'suspended'
              : 'halted',
      });
    }
    return out;
  }
}

/** Whether the machine is made from a cloud-init box (its state says so from `configure` on). */
function isCloudInit(m: MachineContext): boolean {
  return readMachineState(m.env.root, m.spec.name)?.firstBoot === 'cloud-init';
}

/** The bus of the machine's disk: from the box (`box add --disk-interface`), which libvirt must be able to attach. */
function diskBus(m: MachineContext, box: Box): 'virtio' {
  const bus = (DISK_BUS as Record<string, 'virtio' | undefined>)[box.diskInterface];
  if (bus === undefined)
    throw new BoxfestError(
      'LIBVIRT_DISK_BUS',
      `box ${box.name} boots from an ${box.diskInterface} disk, which libvirt ${'9.0'} cannot attach`,
      {
        machine: m.spec.name,
        hint: `if the box also boots from virtio (most Linux images do), add it again with \`boxfest box add ${box.name} IMAGE --disk-interface virtio --force\``,
      },
    );
  return bus;
}

function appliedOf(owner: OwnerTag): AppliedSpec | undefined {
  if (owner.applied === undefined) return undefined;
  try {
    return JSON.parse(owner.applied) as AppliedSpec;
  } catch {
    return undefined;
  }
}

function notRunning(m: MachineContext, verb: string): BoxfestError {
  return new BoxfestError(
    'MACHINE_NOT_RUNNING',
    `machine \`${m.spec.name}\` is not running: cannot ${verb} it`,
    {
      machine: m.spec.name,
      hint: `start it first: boxfest up ${m.spec.name}`,
    },
  );
}
