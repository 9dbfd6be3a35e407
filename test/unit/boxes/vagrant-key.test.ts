import { describe, expect, it } from 'vitest';
import { sshUtils } from '../../../src/ssh/ssh2.js';
import { VAGRANT_INSECURE_PRIVATE_KEY, VAGRANT_INSECURE_PUBLIC_KEY } from '../../../src/boxes/vagrant-key.js';

describe("Vagrant's insecure key pair, shipped as data", () => {
  it('the private key is the one whose public half every Vagrant box authorizes', () => {
    const priv = sshUtils().parseKey(VAGRANT_INSECURE_PRIVATE_KEY);
    if (priv instanceof Error || Array.isArray(priv)) throw new Error('unparsable key');
    const [type, blob] = VAGRANT_INSECURE_PUBLIC_KEY.split(' ');
    expect(priv.type).toBe(type);
    expect(priv.getPublicSSH().toString('base64')).toBe(blob);
    expect(VAGRANT_INSECURE_PUBLIC_KEY.trim().endsWith('vagrant insecure public key')).toBe(true);
  });
});
