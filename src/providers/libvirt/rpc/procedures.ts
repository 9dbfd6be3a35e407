// The procedures of libvirt's remote protocol boxfest calls, as typed functions: numbers and
// layouts from src/remote/remote_protocol.x (libvirt 9.0, Debian 12). The protocol only ever
// appends, so these hold for older and newer daemons; all of them exist since libvirt 1.2.14
// except STORAGE_VOL_GET_INFO_FLAGS (3.0). Encoding and decoding only: errors are mapped by
// the caller (client.ts), the one choke point.
import {
  readDomain,
  readInterface,
  readNetwork,
  readSnapshot,
  readTypedParam,
  readVolume,
  writeDomain,
  writeInterface,
  writeNetwork,
  writeSnapshot,
  writeVolume,
  type DomainRef,
  type InterfaceRef,
  type NetworkRef,
  type PoolRef,
  type SnapshotRef,
  type TypedValue,
  type VolumeRef,
} from './wire.js';
import { XdrWriter, type XdrReader } from './xdr.js';

export const PROC = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_RESUME: 28,
  DOMAIN_SUSPEND: 34,
  NETWORK_CREATE: 39,
  NETWORK_DEFINE_XML: 41,
  NETWORK_DESTROY: 42,
  NETWORK_GET_XML_DESC: 43,
  NETWORK_LOOKUP_BY_NAME: 46,
  NETWORK_SET_AUTOSTART: 48,
  NETWORK_UNDEFINE: 49,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  STORAGE_POOL_REFRESH: 83,
  STORAGE_POOL_LOOKUP_BY_NAME: 84,
  STORAGE_POOL_GET_XML_DESC: 88,
  STORAGE_VOL_CREATE_XML: 93,
  STORAGE_VOL_DELETE: 94,
  STORAGE_VOL_LOOKUP_BY_NAME: 95,
  STORAGE_VOL_GET_XML_DESC: 99,
  STORAGE_VOL_GET_PATH: 100,
  INTERFACE_LOOKUP_BY_NAME: 128,
  INTERFACE_GET_XML_DESC: 130,
  NETWORK_IS_ACTIVE: 152,
  STORAGE_POOL_IS_ACTIVE: 154,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_SNAPSHOT_CREATE_XML: 185,
  DOMAIN_SNAPSHOT_GET_XML_DESC: 186,
  DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: 189,
  DOMAIN_REVERT_TO_SNAPSHOT: 192,
  DOMAIN_SNAPSHOT_DELETE: 193,
  DOMAIN_CREATE_WITH_FLAGS: 196,
  STORAGE_VOL_UPLOAD: 208,
  DOMAIN_GET_STATE: 212,
  DOMAIN_UNDEFINE_FLAGS: 231,
  DOMAIN_DESTROY_FLAGS: 234,
  DOMAIN_SHUTDOWN_FLAGS: 258,
  DOMAIN_SET_METADATA: 264,
  DOMAIN_GET_METADATA: 265,
  CONNECT_LIST_ALL_DOMAINS: 273,
  DOMAIN_LIST_ALL_SNAPSHOTS: 274,
  STORAGE_POOL_LIST_ALL_VOLUMES: 282,
  CONNECT_LIST_ALL_NETWORKS: 283,
  NETWORK_UPDATE: 291,
  NETWORK_GET_DHCP_LEASES: 341,
  CONNECT_GET_DOMAIN_CAPABILITIES: 342,
  CONNECT_GET_ALL_DOMAIN_STATS: 344,
  DOMAIN_DEFINE_XML_FLAGS: 350,
  DOMAIN_INTERFACE_ADDRESSES: 353,
  STORAGE_VOL_GET_INFO_FLAGS: 378,
} as const;

export type ProcName = keyof typeof PROC;

/** The name of a procedure number, for messages. */
export function procName(proc: number): string {
  return (Object.keys(PROC) as ProcName[]).find((k) => PROC[k] === proc) ?? `procedure ${proc}`;
}

/** virDomainState. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** virDomainShutoffReason (the reason that goes with SHUTOFF). */
export const ShutoffReason = {
  UNKNOWN: 0,
  SHUTDOWN: 1,
  DESTROYED: 2,
  CRASHED: 3,
  MIGRATED: 4,
  SAVED: 5,
  FAILED: 6,
  FROM_SNAPSHOT: 7,
  DAEMON: 8,
} as const;

export const Flags = {
  /** virDomainDefineFlags / virStorageVolCreateFlags: check the XML against libvirt's schema. */
  DOMAIN_DEFINE_VALIDATE: 1,
  /** virDomainShutdownFlagValues. */
  SHUTDOWN_ACPI_POWER_BTN: 1,
  /** virDomainUndefineFlagsValues: managed save, snapshots' metadata, NVRAM. */
  UNDEFINE_MANAGED_SAVE: 1,
  UNDEFINE_SNAPSHOTS_METADATA: 2,
  UNDEFINE_NVRAM: 4,
  /** virDomainModificationImpact. */
  AFFECT_LIVE: 1,
  AFFECT_CONFIG: 2,
  /** virDomainXMLFlags: the persistent definition, not the live one. */
  XML_INACTIVE: 2,
  /** virNetworkXMLFlags: the same for networks. */
  NETWORK_XML_INACTIVE: 1,
  /** virDomainSnapshotRevertFlags. */
  REVERT_PAUSED: 2,
  /** virDomainInterfaceAddressesSource. */
  ADDRESSES_LEASE: 0,
  ADDRESSES_AGENT: 1,
  /** virStorageVolInfoFlags: `allocation` is the file's size on disk (3.0+). */
  VOL_GET_PHYSICAL: 1,
  /** virDomainMetadataType. */
  METADATA_ELEMENT: 2,
  /** virNetworkUpdateCommand, Section, Flags. */
  NETWORK_UPDATE_MODIFY: 1,
  NETWORK_UPDATE_DELETE: 2,
  NETWORK_UPDATE_ADD_LAST: 3,
  NETWORK_SECTION_IP_DHCP_HOST: 4,
  NETWORK_UPDATE_AFFECT_LIVE: 1,
  NETWORK_UPDATE_AFFECT_CONFIG: 2,
  /** virConnectGetAllDomainStatsFlags / virDomainStatsTypes. */
  STATS_STATE: 1,
} as const;

export interface DomainStats {
  dom: DomainRef;
  params: Map<string, TypedValue>;
}

export interface DhcpLease {
  iface: string;
  expiry: bigint;
  /** 0 IPv4, 1 IPv6. */
  type: number;
  mac: string | null;
  ip: string;
  prefix: number;
  hostname: string | null;
}

export interface InterfaceAddresses {
  name: string;
  mac: string | null;
  addresses: { type: number; address: string; prefix: number }[];
}

export interface VolumeInfo {
  /** virStorageVolType: 0 file, 1 block, 2 dir, ... */
  type: number;
  capacity: bigint;
  allocation: bigint;
}

/** How a procedure is called: the client's choke point (errors mapped there). */
export type Caller = (proc: number, args?: XdrWriter) => Promise<XdrReader>;

const w = () => new XdrWriter();

/** Typed procedures over a caller. */
export class Procedures {
  constructor(private readonly call: Caller) {}

  // --- connection
  async authList(): Promise<number[]> {
    return (await this.call(PROC.AUTH_LIST)).array((r) => r.i32());
  }

  async authPolkit(): Promise<boolean> {
    return (await this.call(PROC.AUTH_POLKIT)).i32() !== 0;
  }

  async open(driverUri: string): Promise<void> {
    await this.call(PROC.CONNECT_OPEN, w().optStr(driverUri).u32(0));
  }

  async close(): Promise<void> {
    await this.call(PROC.CONNECT_CLOSE);
  }

  /** major * 1_000_000 + minor * 1000 + micro. */
  async libVersion(): Promise<number> {
    return Number((await this.call(PROC.CONNECT_GET_LIB_VERSION)).u64());
  }

  /** Fails (CONFIG_UNSUPPORTED / INVALID_ARG) when the host cannot run `virtType` domains, e.g. kvm without KVM. */
  async domainCapabilities(virtType: string | null): Promise<string> {
    return (
      await this.call(
        PROC.CONNECT_GET_DOMAIN_CAPABILITIES,
        w().optStr(null).optStr('x86_64').optStr(null).optStr(virtType).u32(0),
      )
    ).str();
  }

  // --- domains
  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    return (await this.call(PROC.CONNECT_LIST_ALL_DOMAINS, w().i32(1).u32(flags))).array(readDomain);
  }

  /** `doms` empty: every domain. */
  async allDomainStats(doms: DomainRef[], stats: number): Promise<DomainStats[]> {
    const r = await this.call(
      PROC.CONNECT_GET_ALL_DOMAIN_STATS,
      w().array(doms, writeDomain).u32(stats).u32(0),
    );
    return r.array((x) => ({ dom: readDomain(x), params: new Map(x.array(readTypedParam)) }));
  }

  async lookupDomain(name: string): Promise<DomainRef> {
    return readDomain(await this.call(PROC.DOMAIN_LOOKUP_BY_NAME, w().str(name)));
  }

  async defineDomain(xml: string, flags = Flags.DOMAIN_DEFINE_VALIDATE): Promise<DomainRef> {
    return readDomain(await this.call(PROC.DOMAIN_DEFINE_XML_FLAGS, w().str(xml).u32(flags)));
  }

  async startDomain(dom: DomainRef, flags = 0): Promise<DomainRef> {
    return readDomain(await this.call(PROC.DOMAIN_CREATE_WITH_FLAGS, writeDomain(w(), dom).u32(flags)));
  }

  async shutdownDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.call(PROC.DOMAIN_SHUTDOWN_FLAGS, writeDomain(w(), dom).u32(flags));
  }

  async destroyDomain(dom: DomainRef, flags = 0): Promise<void> {
    await this.call(PROC.DOMAIN_DESTROY_FLAGS, writeDomain(w(), dom).u32(flags));
  }

  async undefineDomain(dom: DomainRef, flags: number): Promise<void> {
    await this.call(PROC.DOMAIN_UNDEFINE_FLAGS, writeDomain(w(), dom).u32(flags));
  }

  async domainState(dom: DomainRef): Promise<{ state: number; reason: number }> {
    const r = await this.call(PROC.DOMAIN_GET_STATE, writeDomain(w(), dom).u32(0));
    return { state: r.i32(), reason: r.i32() };
  }

  async domainXml(dom: DomainRef, flags = 0): Promise<string> {
    return (await this.call(PROC.DOMAIN_GET_XML_DESC, writeDomain(w(), dom).u32(flags))).str();
  }

  /** Our element in the domain's <metadata> (without prefix or xmlns); error NO_DOMAIN_METADATA when absent. */
  async getMetadata(dom: DomainRef, uri: string, flags = 0): Promise<string> {
    return (
      await this.call(
        PROC.DOMAIN_GET_METADATA,
        writeDomain(w(), dom).i32(Flags.METADATA_ELEMENT).optStr(uri).u32(flags),
      )
    ).str();
  }

  /** `xml` null removes the element. */
  async setMetadata(
    dom: DomainRef,
    xml: string | null,
    key: string,
    uri: string,
    flags: number,
  ): Promise<void> {
    await this.call(
      PROC.DOMAIN_SET_METADATA,
      writeDomain(w(), dom).i32(Flags.METADATA_ELEMENT).optStr(xml).optStr(key).optStr(uri).u32(flags),
    );
  }

  async suspendDomain(dom: DomainRef): Promise<void> {
    await this.call(PROC.DOMAIN_SUSPEND, writeDomain(w(), dom));
  }

  async resumeDomain(dom: DomainRef): Promise<void> {
    await this.call(PROC.DOMAIN_RESUME, writeDomain(w(), dom));
  }

  async interfaceAddresses(dom: DomainRef, source: number): Promise<InterfaceAddresses[]> {
    const r = await this.call(PROC.DOMAIN_INTERFACE_ADDRESSES, writeDomain(w(), dom).u32(source).u32(0));
    return r.array((x) => ({
      name: x.str(),
      mac: x.optStr(),
      addresses: x.array((y) => ({ type: y.i32(), address: y.str(), prefix: y.u32() })),
    }));
  }

  // --- snapshots
  async createSnapshot(dom: DomainRef, xml: string, flags = 0): Promise<SnapshotRef> {
    return readSnapshot(
      await this.call(PROC.DOMAIN_SNAPSHOT_CREATE_XML, writeDomain(w(), dom).str(xml).u32(flags)),
    );
  }

  async listSnapshots(dom: DomainRef): Promise<SnapshotRef[]> {
    return (await this.call(PROC.DOMAIN_LIST_ALL_SNAPSHOTS, writeDomain(w(), dom).i32(1).u32(0))).array(
      readSnapshot,
    );
  }

  async lookupSnapshot(dom: DomainRef, name: string): Promise<SnapshotRef> {
    return readSnapshot(
      await this.call(PROC.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, writeDomain(w(), dom).str(name).u32(0)),
    );
  }

  async snapshotXml(snap: SnapshotRef): Promise<string> {
    return (await this.call(PROC.DOMAIN_SNAPSHOT_GET_XML_DESC, writeSnapshot(w(), snap).u32(0))).str();
  }

  async revertToSnapshot(snap: SnapshotRef, flags = 0): Promise<void> {
    await this.call(PROC.DOMAIN_REVERT_TO_SNAPSHOT, writeSnapshot(w(), snap).u32(flags));
  }

  async deleteSnapshot(snap: SnapshotRef, flags = 0): Promise<void> {
    await this.call(PROC.DOMAIN_SNAPSHOT_DELETE, writeSnapshot(w(), snap).u32(flags));
  }

  // --- storage
  async lookupPool(name: string): Promise<PoolRef> {
    return readNetwork(await this.call(PROC.STORAGE_POOL_LOOKUP_BY_NAME, w().str(name)));
  }

  async poolIsActive(pool: PoolRef): Promise<boolean> {
    return (await this.call(PROC.STORAGE_POOL_IS_ACTIVE, writeNetwork(w(), pool))).i32() !== 0;
  }

  async refreshPool(pool: PoolRef): Promise<void> {
    await this.call(PROC.STORAGE_POOL_REFRESH, writeNetwork(w(), pool).u32(0));
  }

  async poolXml(pool: PoolRef): Promise<string> {
    return (await this.call(PROC.STORAGE_POOL_GET_XML_DESC, writeNetwork(w(), pool).u32(0))).str();
  }

  async listVolumes(pool: PoolRef): Promise<VolumeRef[]> {
    return (await this.call(PROC.STORAGE_POOL_LIST_ALL_VOLUMES, writeNetwork(w(), pool).i32(1).u32(0))).array(
      readVolume,
    );
  }

  async createVolume(pool: PoolRef, xml: string, flags = 0): Promise<VolumeRef> {
    return readVolume(
      await this.call(PROC.STORAGE_VOL_CREATE_XML, writeNetwork(w(), pool).str(xml).u32(flags)),
    );
  }

  async lookupVolume(pool: PoolRef, name: string): Promise<VolumeRef> {
    return readVolume(await this.call(PROC.STORAGE_VOL_LOOKUP_BY_NAME, writeNetwork(w(), pool).str(name)));
  }

  async volumePath(vol: VolumeRef): Promise<string> {
    return (await this.call(PROC.STORAGE_VOL_GET_PATH, writeVolume(w(), vol))).str();
  }

  async volumeXml(vol: VolumeRef): Promise<string> {
    return (await this.call(PROC.STORAGE_VOL_GET_XML_DESC, writeVolume(w(), vol).u32(0))).str();
  }

  async volumeInfo(vol: VolumeRef, flags = 0): Promise<VolumeInfo> {
    const r = await this.call(PROC.STORAGE_VOL_GET_INFO_FLAGS, writeVolume(w(), vol).u32(flags));
    return { type: r.i32(), capacity: r.u64(), allocation: r.u64() };
  }

  async deleteVolume(vol: VolumeRef): Promise<void> {
    await this.call(PROC.STORAGE_VOL_DELETE, writeVolume(w(), vol).u32(0));
  }

  /** The call that opens an upload stream; the connection sends the data (connection.ts). */
  static uploadArgs(vol: VolumeRef, length: number): XdrWriter {
    return writeVolume(w(), vol).u64(0).u64(length).u32(0);
  }

  // --- networks
  async lookupNetwork(name: string): Promise<NetworkRef> {
    return readNetwork(await this.call(PROC.NETWORK_LOOKUP_BY_NAME, w().str(name)));
  }

  async listAllNetworks(): Promise<NetworkRef[]> {
    return (await this.call(PROC.CONNECT_LIST_ALL_NETWORKS, w().i32(1).u32(0))).array(readNetwork);
  }

  async defineNetwork(xml: string): Promise<NetworkRef> {
    return readNetwork(await this.call(PROC.NETWORK_DEFINE_XML, w().str(xml)));
  }

  async startNetwork(net: NetworkRef): Promise<void> {
    await this.call(PROC.NETWORK_CREATE, writeNetwork(w(), net));
  }

  async destroyNetwork(net: NetworkRef): Promise<void> {
    await this.call(PROC.NETWORK_DESTROY, writeNetwork(w(), net));
  }

  async undefineNetwork(net: NetworkRef): Promise<void> {
    await this.call(PROC.NETWORK_UNDEFINE, writeNetwork(w(), net));
  }

  async setNetworkAutostart(net: NetworkRef, on: boolean): Promise<void> {
    await this.call(PROC.NETWORK_SET_AUTOSTART, writeNetwork(w(), net).i32(on ? 1 : 0));
  }

  async networkIsActive(net: NetworkRef): Promise<boolean> {
    return (await this.call(PROC.NETWORK_IS_ACTIVE, writeNetwork(w(), net))).i32() !== 0;
  }

  async networkXml(net: NetworkRef, flags = 0): Promise<string> {
    return (await this.call(PROC.NETWORK_GET_XML_DESC, writeNetwork(w(), net).u32(flags))).str();
  }

  async updateNetwork(
    net: NetworkRef,
    command: number,
    section: number,
    xml: string,
    flags: number,
  ): Promise<void> {
    await this.call(
      PROC.NETWORK_UPDATE,
      writeNetwork(w(), net).u32(command).u32(section).i32(-1).str(xml).u32(flags),
    );
  }

  /** `mac` null: every lease of the network. */
  async dhcpLeases(net: NetworkRef, mac: string | null): Promise<DhcpLease[]> {
    const r = await this.call(PROC.NETWORK_GET_DHCP_LEASES, writeNetwork(w(), net).optStr(mac).i32(1).u32(0));
    return r.array((x) => {
      const iface = x.str();
      const expiry = x.i64();
      const type = x.i32();
      const leaseMac = x.optStr();
      x.optStr(); // iaid
      const ip = x.str();
      const prefix = x.u32();
      const hostname = x.optStr();
      x.optStr(); // clientid
      return { iface, expiry, type, mac: leaseMac, ip, prefix, hostname };
    });
  }

  // --- host interfaces
  async lookupInterface(name: string): Promise<InterfaceRef> {
    return readInterface(await this.call(PROC.INTERFACE_LOOKUP_BY_NAME, w().str(name)));
  }

  async interfaceXml(iface: InterfaceRef): Promise<string> {
    return (await this.call(PROC.INTERFACE_GET_XML_DESC, writeInterface(w(), iface).u32(0))).str();
  }
}
