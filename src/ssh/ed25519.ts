// ed25519 key pairs in the formats SSH servers and clients read, made from node:crypto's raw key
// material (JWK: always exactly 32 bytes each). Not ssh2's `utils.generateKeyPairSync`: it drops
// the leading zero byte of a public key that starts with one, writing a 31-byte key (1 in 256
// keys; 6 of 3000 measured) that ssh2 itself then refuses to parse and no server accepts (open
// upstream: mscdex/ssh2#1390, #1513). That was the "refused per-machine key" seen rarely in CI:
// the guest held the line, the login failed.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const ED25519 = 'ssh-ed25519';

export function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A fresh ed25519 key: its 32-byte seed and 32-byte public key. */
export function newEd25519(): { seed: Buffer; pub: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = privateKey.export({ format: 'jwk' });
  const pub = publicKey.export({ format: 'jwk' });
  return { seed: Buffer.from(priv.d!, 'base64url'), pub: Buffer.from(pub.x!, 'base64url') };
}

/** "ssh-ed25519 AAAA..." (no comment): the public key as it is pinned and compared. */
export function publicKeyLine(pub: Buffer): string {
  return `${ED25519} ${Buffer.concat([sshString(ED25519), sshString(pub)]).toString('base64')}`;
}

/** The OpenSSH private key file (openssh-key-v1, unencrypted), as ssh-keygen writes it. */
export function opensshPrivateKey(seed: Buffer, pub: Buffer, comment: string): Buffer {
  const pubBlob = Buffer.concat([sshString(ED25519), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    sshString(ED25519),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(pubBlob),
    sshString(priv),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return Buffer.from(
    ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
  );
}

/** dropbear's own key file: string "ssh-ed25519", string (seed ‖ public key). */
export function dropbearPrivateKey(seed: Buffer, pub: Buffer): Buffer {
  return Buffer.concat([sshString(ED25519), sshString(Buffer.concat([seed, pub]))]);
}

/** A login key pair: the OpenSSH private key file and the authorized_keys line (with `comment`). */
export function newLoginKey(comment: string): { private: string; public: string } {
  const { seed, pub } = newEd25519();
  return {
    private: opensshPrivateKey(seed, pub, comment).toString(),
    public: `${publicKeyLine(pub)} ${comment}`,
  };
}
