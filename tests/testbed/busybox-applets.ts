// BusyBox's applets as the only commands of a folder: the helper image's commands, for the bed's pods
// and for the unit tests that run pod-side commands.
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The host's command `name` by its full path (busybox, setpriv), or undefined. */
export function hostCommand(name: string): string | undefined {
  return execFileSync('sh', ['-c', `command -v ${name} || true`], { encoding: 'utf8' }).trim() || undefined;
}

/** Links every applet of `busybox` into `dir` (which exists). */
export function linkBusyboxApplets(busybox: string, dir: string): void {
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean))
    symlinkSync(busybox, join(dir, applet));
}
