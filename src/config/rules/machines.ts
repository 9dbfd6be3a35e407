// Machine-level rules: names, box, profiles, sizes written with units, `primary`.

import { BOX_NAME_RULE, boxNameProblem } from '../../boxes/name.js';
import { parseConstraint } from '../../boxes/version.js';
import { DNS_LABEL, quoteForMessage } from '../names.js';
import { didYouMean } from '../schema.js';
import type { WrittenSize } from '../types.js';
import { sizeMiB } from '../units.js';
import type { Rule } from './context.js';
import { writtenAt } from './context.js';

export const machineNames: Rule = ({ env, add }) => {
  for (const m of env.machines) {
    if (DNS_LABEL.test(m.name)) continue;
    add(
      ['machines', m.name],
      'key',
      `machine name ${quoteForMessage(m.name)} is not a valid DNS label`,
      'use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname',
    );
  }
};

export const boxes: Rule = ({ env, own, written, origin, add }) => {
  for (const m of env.machines) {
    if (own(m).box === undefined && written.defaults?.box === undefined) {
      add(
        ['machines', m.name],
        'key',
        `machine \`${m.name}\` has no box`,
        'set `box:` on the machine or in `defaults`',
      );
      continue;
    }
    // The name becomes directories in the box store: the store's own check, before anything runs.
    if (boxNameProblem(m.box) !== undefined)
      add(
        origin(m, 'box') ?? ['machines', m.name],
        'value',
        `${quoteForMessage(m.box)} is not a valid box name`,
        `use ${BOX_NAME_RULE}`,
      );
  }
};

/** `box_version` in Vagrant's constraint syntax (boxes/version.ts, pure). */
export const boxVersions: Rule = ({ env, origin, add }) => {
  for (const m of env.machines) {
    if (m.boxVersion === undefined) continue;
    const r = parseConstraint(m.boxVersion);
    const path = origin(m, 'box_version');
    if ('problem' in r && path !== undefined) add(path, 'value', r.problem);
  }
};

export const profiles: Rule = ({ env, own, written, add }) => {
  const known = Object.keys(written.profiles ?? {});
  const check = (path: (string | number)[], name: string | undefined): void => {
    if (name === undefined || Object.hasOwn(written.profiles ?? {}, name)) return;
    const hint =
      known.length === 0
        ? `define it under \`profiles:\`, e.g. \`profiles: { ${name}: { cpus: 1, memory: 512 } }\``
        : (didYouMean(name, known)?.replace('allowed keys here', 'profiles defined') ?? undefined);
    add(path, 'value', `no profile named \`${name}\``, hint);
  };
  check(['defaults', 'profile'], written.defaults?.profile);
  for (const m of env.machines) check(['machines', m.name, 'profile'], own(m).profile);
};

// A size written as a number is range-checked by the schema; one written with a unit only here.
const LIMITS = { memory: [64, 1048576], disk_size: [1024, 1073741824] } as const;

export const sizes: Rule = ({ written, add }) => {
  const places: (string | number)[][] = [['defaults']];
  for (const name of Object.keys(written.profiles ?? {})) places.push(['profiles', name]);
  for (const name of Object.keys(written.machines ?? {})) places.push(['machines', name]);
  for (const place of places) {
    for (const key of ['memory', 'disk_size'] as const) {
      const value = writtenAt<WrittenSize>(written, [...place, key]);
      if (typeof value !== 'string') continue;
      const mib = sizeMiB(value);
      const [min, max] = LIMITS[key];
      if (mib === undefined) continue;
      if (mib < min) add([...place, key], 'value', `\`${value}\` is less than the minimum, ${min} MiB`);
      else if (mib > max) add([...place, key], 'value', `\`${value}\` is more than the maximum, ${max} MiB`);
    }
  }
};

export const primary: Rule = ({ env, origin, add }) => {
  const primaries = env.machines.filter((m) => m.primary);
  if (primaries.length < 2) return;
  const first = primaries[0];
  for (const m of primaries.slice(1)) {
    const path = origin(m, 'primary') ?? ['machines', m.name];
    if (path[0] === 'defaults') {
      add(
        path,
        'value',
        '`primary` in `defaults` makes every machine primary',
        'set `primary: true` on one machine only',
      );
    } else {
      add(
        path,
        'value',
        `only one machine can be primary; \`${first?.name ?? ''}\` already is`,
        'set `primary: true` on one machine only',
      );
    }
  }
};
