// The helper pod's commands, run by the unit tests with the host's BusyBox (npm run setup installs it).
import { execFileSync } from 'node:child_process';

/** The host's busybox, or undefined (the test then skips). */
export function busybox(): string | undefined {
  return execFileSync('sh', ['-c', 'command -v busybox || true'], { encoding: 'utf8' }).trim() || undefined;
}

/**
 * The prefix that runs a command as nobody when the tests run as root, as the helper pod's commands run:
 * root reads every file, and may open any pipe by name.
 */
export function asNobody(): string[] {
  return process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
}
