// The helper pod's commands, run by the unit tests with the host's BusyBox (npm run setup installs it).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostCommand, linkBusyboxApplets } from '../../testbed/busybox-applets.ts';

/** The host's busybox, or undefined (the test then skips). */
export function busybox(): string | undefined {
  return hostCommand('busybox');
}

let applets: string | undefined;

/**
 * The environment of a command run as in the helper pod's image: only BusyBox's applets on the PATH.
 * With the host's PATH, `busybox sh` runs the host's GNU tar, find and md5sum, which behave otherwise
 * (GNU md5sum flushes each line into a pipe; BusyBox's holds them until it ends).
 */
export function busyboxEnv(): NodeJS.ProcessEnv {
  applets ??= linkApplets(busybox()!);
  return { ...process.env, PATH: applets };
}

function linkApplets(shell: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'busybox-applets-'));
  chmodSync(dir, 0o755); // asNobody's commands find them too
  linkBusyboxApplets(shell, dir);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The prefix that runs a command as nobody when the tests run as root, as the helper pod's commands run:
 * root reads every file, and may open any pipe by name. (setpriv by its full path: busyboxEnv's PATH
 * holds only BusyBox.)
 */
export function asNobody(): string[] {
  return process.getuid?.() === 0 ? [hostCommand('setpriv')!, '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
}
