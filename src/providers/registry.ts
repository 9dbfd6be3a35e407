import type { ProviderName } from '../config/types.js';
import type { Provider } from './provider.js';
import { LibvirtProvider } from './libvirt/provider.js';
import { QemuProvider } from './qemu/provider.js';
import { VirtualboxProvider } from './virtualbox/provider.js';

export function providerFor(name: ProviderName): Provider {
  switch (name) {
    case 'qemu':
      return new QemuProvider();
    case 'virtualbox':
      return new VirtualboxProvider();
    case 'libvirt':
      return new LibvirtProvider();
  }
}
