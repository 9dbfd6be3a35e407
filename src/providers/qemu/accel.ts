// KVM when it really works, TCG otherwise. /dev/kvm existing is not enough: on some hosts it is a
// PVM variant without VMX/SVM, where ordinary guests die with "KVM internal error ... emulation
// failure". So KVM needs a usable /dev/kvm AND a CPU with vmx/svm AND no kvm_pvm; and a KVM boot
// that dies anyway is retried under TCG by the provider.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

export function chooseAccel(
  env: NodeJS.ProcessEnv = process.env,
  fromBoxfile: 'auto' | Accel = 'auto',
): AccelChoice {
  const forced = env['BOXFEST_QEMU_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: 'BOXFEST_QEMU_ACCEL' };
  if (fromBoxfile !== 'auto') return { accel: fromBoxfile, reason: 'qemu.accel in the Boxfile' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible' };
  }
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // unreadable: trust /dev/kvm
  }
  if (cpuinfo !== '' && !/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo))
    return { accel: 'tcg', reason: 'the CPU has no vmx/svm (nested virtualization is off)' };
  if (existsSync('/sys/module/kvm_pvm'))
    return { accel: 'tcg', reason: '/dev/kvm is kvm-pvm, which cannot run ordinary guests' };
  return { accel: 'kvm', reason: '/dev/kvm is usable' };
}

/** QEMU's message when KVM cannot run the guest after all. */
export const KVM_FAILURE =
  /KVM internal error|emulation failure|failed to initialize kvm|Could not access KVM/i;
