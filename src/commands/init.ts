// `boxfest init [BOX]`: a commented Boxfile.yaml for one machine, like `vagrant init`. It never
// overwrites: the file is created exclusively, so an existing Boxfile (even one written a moment
// ago by another process) is left exactly as it was.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boxNameProblem, BOX_NAME_RULE } from '../boxes/name.js';
import { BOXFILE_NAME } from '../config/find.js';
import { BoxfestError, errorMessage } from '../errors.js';
import type { CommandOptions } from './output.js';
import { PACKAGE_ROOT } from '../util/package-root.js';

/** The installed boxfest's schema: editors with yaml-language-server check the file against it. */
const SCHEMA = fileURLToPath(new URL('schemas/boxfile.schema.json', PACKAGE_ROOT));

export function boxfileTemplate(box: string, schema = SCHEMA): string {
  return `# yaml-language-server: $schema=${schema}
# A Boxfile for boxfest: \`boxfest up\` makes the machines below, \`boxfest ssh default\` logs in,
# \`boxfest validate\` checks this file. Every key: the README's "The Boxfile".
version: 1
provider: qemu # qemu (local) or virtualbox (through vboxwebsrv)
machines:
  default: # the machine's name
    box: ${box} # \`boxfest box list\` shows your boxes; \`boxfest box add NAME SOURCE\` adds one
    cpus: 1
    memory: 1024 # MiB, or a size such as 2GiB
    # forwarded_ports:
    #   - { guest: 80, host: 8080 } # binds 127.0.0.1 unless host_ip says otherwise
    # synced_folders:
    #   - { src: ., dest: /vagrant } # type: rsync (the default), virtiofs or 9p (live, QEMU)
    # provision:
    #   - shell: echo "hello from $(hostname)"
    # triggers:
    #   - { on: up, when: after, run: [echo, up] } # a host command; run_remote: runs in the guest
`;
}

export function init(cwd: string, box: string | undefined, o: CommandOptions): Promise<number> {
  const name = box ?? 'base';
  const problem = boxNameProblem(name);
  if (problem !== undefined) throw new BoxfestError('BOX_NAME', problem, { hint: `use ${BOX_NAME_RULE}` });
  const file = join(cwd, BOXFILE_NAME);
  try {
    writeFileSync(file, boxfileTemplate(name), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new BoxfestError('BOXFILE_EXISTS', `${file} exists already; it was left as it is`, {
        hint: 'edit it, or move it away first to start over',
      });
    throw new BoxfestError('BOXFILE_UNWRITABLE', `cannot write ${file}: ${errorMessage(e)}`, {
      hint: 'run it in a directory you can write to',
    });
  }
  if (o.json) o.print(JSON.stringify({ file, box: name }, null, 2));
  else o.print(`wrote ${file} (box ${name}); \`boxfest up\` starts it`);
  return Promise.resolve(0);
}
