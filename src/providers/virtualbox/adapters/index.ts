// Picks the adapter for the API version the server reports (IVirtualBox_getAPIVersion: `7_2`).
import { BoxfestError } from '../../../errors.js';
import type { VboxAdapter } from './types.js';
import { v6_1 } from './v6_1.js';
import { v7_0 } from './v7_0.js';
import { v7_1, v7_2 } from './v7_1.js';

export type { VboxAdapter } from './types.js';

const ADAPTERS: Record<string, VboxAdapter> = { '6_1': v6_1, '7_0': v7_0, '7_1': v7_1, '7_2': v7_2 };

export const SUPPORTED_APIS = Object.keys(ADAPTERS).map((a) => a.replace('_', '.'));

export function adapterFor(api: string): VboxAdapter {
  const a = ADAPTERS[api];
  if (a !== undefined) return a;
  const shown = /^\d+_\d+$/.test(api) ? api.replace('_', '.') : JSON.stringify(api);
  throw new BoxfestError('VBOX_UNSUPPORTED_API', `unsupported VirtualBox API ${shown}`, {
    hint: `boxfest works with VirtualBox ${SUPPORTED_APIS.join(', ')}; upgrade VirtualBox on the server (or boxfest)`,
  });
}
