// Vagrant catalog metadata (the JSON a box URL like https://host/debian-12.json serves): a box
// name, its versions, and per version one entry per provider with a URL and checksum. Pure.
import { BoxfestError } from '../errors.js';
import type { ProviderName } from '../config/types.js';
import { parseChecksum, type Checksum } from './checksum.js';
import { boxNameProblem, boxVersionProblem } from './name.js';
import { compareVersions, satisfies, type Requirement } from './version.js';

export interface CatalogProvider {
  name: string;
  url: string;
  checksum?: Checksum;
  architecture?: string;
}

export interface CatalogVersion {
  version: string;
  providers: CatalogProvider[];
}

export interface Catalog {
  name: string;
  description?: string;
  versions: CatalogVersion[];
}

/** Vagrant providers whose boxes each boxfest provider runs, preferred first. */
export const VAGRANT_PROVIDERS: Record<ProviderName, readonly string[]> = {
  // libvirt boxes are qcow2 as QEMU wants them; VirtualBox boxes are converted once.
  qemu: ['libvirt', 'virtualbox'],
  libvirt: ['libvirt', 'virtualbox'],
  // VirtualBox opens qcow2 (its QCOW backend) as well as its own VMDKs.
  virtualbox: ['virtualbox', 'libvirt'],
};

/** Architectures of this host as catalogs write them. */
const HOST_ARCHITECTURES = ['amd64', 'x86_64'];

function fail(source: string, why: string): never {
  throw new BoxfestError('BOX_CATALOG', `${source} is not a usable Vagrant catalog: ${why}`, {
    hint: 'a catalog is JSON with `name` and `versions: [{ version, providers: [{ name, url, checksum_type, checksum }] }]`',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseCatalog(text: string, source: string): Catalog {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(source, `it is not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) fail(source, 'it is not a JSON object');
  const name = doc['name'];
  if (typeof name !== 'string') fail(source, '`name` is missing');
  const nameProblem = boxNameProblem(name);
  if (nameProblem !== undefined) fail(source, nameProblem);
  if (!Array.isArray(doc['versions'])) fail(source, '`versions` is not a list');
  const versions = (doc['versions'] as unknown[]).map((v, i): CatalogVersion => {
    if (!isObject(v) || typeof v['version'] !== 'string') fail(source, `versions[${i}] has no \`version\``);
    const version = v['version'];
    const problem = boxVersionProblem(version);
    if (problem !== undefined) fail(source, `versions[${i}]: ${problem}`);
    const providers = Array.isArray(v['providers']) ? (v['providers'] as unknown[]) : [];
    return {
      version,
      providers: providers.map((p, j): CatalogProvider => {
        const where = `versions[${i}].providers[${j}]`;
        if (!isObject(p) || typeof p['name'] !== 'string' || typeof p['url'] !== 'string')
          fail(source, `${where} needs \`name\` and \`url\``);
        const sum = p['checksum'];
        const type = p['checksum_type'];
        let checksum: Checksum | undefined;
        if (typeof sum === 'string' && sum !== '') {
          try {
            checksum = parseChecksum(sum, typeof type === 'string' ? type : undefined);
          } catch (e) {
            fail(source, `${where}: ${(e as Error).message}`);
          }
        }
        return {
          name: p['name'],
          url: p['url'],
          ...(checksum === undefined ? {} : { checksum }),
          ...(typeof p['architecture'] === 'string' ? { architecture: p['architecture'] } : {}),
        };
      }),
    };
  });
  return {
    name,
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    versions,
  };
}

export interface CatalogChoice {
  version: string;
  provider: CatalogProvider;
}

/**
 * The newest version meeting `reqs` that has a box for `provider` (its own kind first), or why
 * there is none.
 */
export function pickFromCatalog(
  catalog: Catalog,
  reqs: readonly Requirement[],
  provider: ProviderName,
): CatalogChoice | { problem: string } {
  const runnable = (p: CatalogProvider) =>
    VAGRANT_PROVIDERS[provider].includes(p.name) &&
    (p.architecture === undefined || HOST_ARCHITECTURES.includes(p.architecture));
  const sorted = [...catalog.versions].sort((a, b) => compareVersions(b.version, a.version));
  const fitting = sorted.filter((v) => satisfies(v.version, reqs));
  for (const v of fitting) {
    for (const kind of VAGRANT_PROVIDERS[provider]) {
      const p = v.providers.find((x) => x.name === kind && runnable(x));
      if (p !== undefined) return { version: v.version, provider: p };
    }
  }
  const all = sorted.map(
    (v) => `${v.version} (${v.providers.map((p) => p.name).join(', ') || 'no providers'})`,
  );
  return {
    problem:
      fitting.length === 0
        ? `no version of ${catalog.name} meets \`${reqs.map((r) => `${r.op} ${r.version}`).join(', ')}\`; it has ${all.join(', ') || 'no versions'}`
        : `no version of ${catalog.name} that fits has a box for ${VAGRANT_PROVIDERS[provider].join(' or ')} (${HOST_ARCHITECTURES[0]}); it has ${all.join(', ')}`,
  };
}
