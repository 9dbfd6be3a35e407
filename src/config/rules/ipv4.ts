// Just enough IPv4 arithmetic for the network rules. Addresses are unsigned 32-bit numbers.

export interface Cidr {
  /** The address as written (host bits possibly set). */
  address: number;
  prefix: number;
  network: number;
  broadcast: number;
}

export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function parseCidr(text: string): Cidr | undefined {
  const [ip, len, ...rest] = text.split('/');
  const address = parseIp(ip ?? '');
  const prefix = Number(len);
  if (address === undefined || rest.length > 0 || !/^[0-9]{1,2}$/.test(len ?? '') || prefix > 32)
    return undefined;
  const size = 2 ** (32 - prefix);
  const network = Math.floor(address / size) * size;
  return { address, prefix, network, broadcast: network + size - 1 };
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The host side of a private network: its first address, `.1` for a /24. */
export function gatewayOf(c: Cidr): number {
  return c.network + 1;
}
