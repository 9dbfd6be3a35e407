import { readEnvironment } from '../config/index.js';
import type { CommandOptions } from './output.js';

/** Problems are thrown as a ConfigError and rendered (text or JSON) by cli.ts. Reads only the Boxfile. */
export function validate(cwd: string, o: CommandOptions): Promise<number> {
  const env = readEnvironment(cwd);
  if (o.json)
    o.print(
      JSON.stringify(
        { valid: true, file: env.file, machines: env.machines.map((m) => m.name), issues: [] },
        null,
        2,
      ),
    );
  else
    o.print(
      `${env.file} is valid: ${env.machines.length} machine(s): ${env.machines.map((m) => m.name).join(', ')}`,
    );
  return Promise.resolve(0);
}
