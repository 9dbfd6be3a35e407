// What each provider can do, as plain data. config/ reads this to reject, at validate time, a
// Boxfile setting the chosen provider does not implement yet, instead of failing halfway through
// `up`. It imports nothing but types, so config/ never pulls in a provider implementation.
//
// Keep each entry honest: flip a flag to true in the same change that implements the feature.

import type { ProviderName, SyncedFolderType } from '../config/types.js';

export interface Capabilities {
  /** `networks.*.type: private`. */
  privateNetworks: boolean;
  /** `networks.*.type: bridged`. */
  bridgedNetworks: boolean;
  /** `machines.*.networks[].mac`. */
  macAddresses: boolean;
  /** `forwarded_ports` (beyond boxfest's own SSH forward). */
  forwardedPorts: boolean;
  /** `disk_size`: growing the machine's disk beyond the box's size. */
  diskResize: boolean;
  /** `disks`: extra data disks. */
  dataDisks: boolean;
  /** `cloud_init:` and cloud-init boxes: a NoCloud seed attached to the guest at every boot. */
  cloudInit: boolean;
  /** `box_version`: choosing a version of a box. */
  boxVersions: boolean;
  /** `autostart: false`. */
  manualStart: boolean;
  /** `ssh.port` other than 22. */
  guestSshPort: boolean;
  /** `instant: true`: new machines restored from a saved ready state. */
  instantUp: boolean;
  /**
   * Synced folder types besides `rsync` (which every provider does over SSH): live shares the
   * provider maps to its own devices (QEMU: virtiofsd + vhost-user-fs, virtio-9p; libvirt:
   * `<filesystem>` elements). A provider lists a type here in the change that maps it.
   */
  sharedFolders: readonly Exclude<SyncedFolderType, 'rsync'>[];
  /** Keys of the provider's own block (`qemu:`) that it honours. */
  settings: readonly string[];
  /** Why a feature it cannot do is not done, where there is more to say than "not yet". */
  why?: Partial<Record<Exclude<keyof Capabilities, 'settings' | 'why'>, string>>;
}

export const CAPABILITIES: Record<ProviderName, Capabilities> = {
  qemu: {
    privateNetworks: true,
    bridgedNetworks: true,
    macAddresses: true,
    forwardedPorts: true,
    // The overlay is grown with qemu-img before a boot; the guest's root filesystem follows.
    diskResize: true,
    dataDisks: true,
    cloudInit: true,
    boxVersions: true,
    manualStart: true,
    guestSshPort: true,
    instantUp: true,
    sharedFolders: ['virtiofs', '9p'],
    settings: ['accel', 'restrict_network', 'disk_interface', 'extra_args'],
  },
  virtualbox: {
    // Host-only adapters on the named host-only interface (created when missing), bridged adapters
    // on a host interface checked against IHost_getNetworkInterfaces; addresses are applied inside
    // the guest by the shared configure-network step (NICs found by their stable MACs).
    privateNetworks: true,
    bridgedNetworks: true,
    macAddresses: true,
    forwardedPorts: true,
    diskResize: false,
    dataDisks: false,
    // The seed ISO as a DVD on a second IDE port.
    cloudInit: true,
    boxVersions: true,
    manualStart: true,
    guestSshPort: true,
    instantUp: false,
    // vboxsf (IMachine_createSharedFolder + the Guest Additions' mount) is not done yet.
    sharedFolders: [],
    // `gui` and `linked_clone: false` (a full copy) are not done yet.
    settings: ['url', 'os_type'],
  },
  libvirt: {
    // Private networks are isolated libvirt networks (with dnsmasq when `dhcp: true`), bridged ones
    // a bridge or macvtap interface; forwarded ports are relayed by a boxfest process on the host
    // (libvirt has no NAT port forwarding). Addresses are applied in the guest as on QEMU.
    privateNetworks: true,
    bridgedNetworks: true,
    macAddresses: true,
    forwardedPorts: true,
    // The domain XML has no data disks yet, and the disk volume is not grown.
    diskResize: false,
    dataDisks: false,
    // The seed ISO as a read-only virtio disk (serial boxfest-cidata, as on QEMU), from a volume
    // in the overlay's pool uploaded before each boot: the same on a local and a remote host.
    cloudInit: true,
    boxVersions: true,
    manualStart: true,
    guestSshPort: true,
    instantUp: false,
    // <filesystem> devices: virtiofs (libvirt runs the virtiofsd; the RAM is a shared memfd) and 9p
    // (accessmode mapped, QEMU's mapped-xattr); mounted in the guest as on QEMU.
    sharedFolders: ['virtiofs', '9p'],
    // The top-level `libvirt:` block; there is none per machine.
    settings: ['uri', 'pool', 'management_network'],
    why: {
      instantUp:
        "a saved state restored onto another domain must keep every device's ABI, which libvirt checks on restore; boxfest does not yet give the golden domain and its clones the same device layout (set `instant: false`, or use provider qemu)",
    },
  },
};
