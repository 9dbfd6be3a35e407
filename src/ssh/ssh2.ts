// ssh2 is CommonJS: Node's ESM loader only sees its default export, so take the parts from there.
import ssh2 from 'ssh2';

export const { Client, utils } = ssh2;
export type { ClientChannel, ConnectConfig, PublicKeyAuthMethod } from 'ssh2';
export type Client = InstanceType<typeof ssh2.Client>;
