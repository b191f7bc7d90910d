// Where a run's CPU goes on the bed, by kind of process: every process on the machine is sampled from /proc
// (utime + stime) every 100 ms while the run lasts; what the samples miss (a process that lived less than a
// sample, the tail of one that ended between two) is the machine's busy time (/proc/stat) minus their sum.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The kinds, in the order they are printed; a process's kind comes from its command line. */
const KINDS: [kind: string, matches: (cmdline: string) => boolean][] = [
  ['plugin', (c) => c.includes('kubectl-datamover')],
  ['S3 server', (c) => /\brclone\b.* serve s3\b/.test(c)],
  ["pod's rclone server", (c) => /\brclone\b.* serve webdav\b/.test(c)],
  ["user's rclone", (c) => /\brclone\b/.test(c)],
  ['kubectl', (c) => /(^|\/)kubectl\b/.test(c)],
  ['API server, etcd', (c) => /(kube-apiserver|etcd|kube-controller-manager|kube-scheduler)\b/.test(c)],
  ['kwok (exec, port-forward)', (c) => /(^|\/)kwok\b/.test(c)],
  ["bed's port relay", (c) => c.includes('port-relay')],
  ["bed's controllers", (c) => c.includes('/tests/testbed/')],
  ['pod commands (BusyBox)', (c) => /(^|\/)busybox\b|^(sh|tar|md5sum|find|cat)\b/.test(c)],
];

function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

/** CPU ticks of each live process, and its command line (read once per pid). */
function sample(cmdlines: Map<number, string>): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
      if (!cmdlines.has(pid)) cmdlines.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks;
}

export interface CpuByKind {
  /** CPU seconds per kind, in KINDS' order, then "other" and "unsampled" (short-lived processes). */
  seconds: [kind: string, seconds: number][];
  total: number;
}

/** Starts sampling; `stop()` returns the CPU seconds each kind of process used since the start. */
export function sampleCpuByProcess(): { stop(): CpuByKind } {
  const cmdlines = new Map<number, string>();
  const first = sample(cmdlines);
  const last = new Map(first);
  const busyAtStart = machineBusyTicks();
  const timer = setInterval(() => {
    for (const [pid, ticks] of sample(cmdlines)) last.set(pid, ticks);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      for (const [pid, ticks] of sample(cmdlines)) last.set(pid, ticks);
      const byKind = new Map<string, number>();
      let sampled = 0;
      for (const [pid, ticks] of last) {
        const used = ticks - (first.get(pid) ?? 0);
        if (used <= 0) continue;
        const cmdline = cmdlines.get(pid) ?? '';
        const kind = KINDS.find(([, matches]) => matches(cmdline))?.[0] ?? 'other';
        byKind.set(kind, (byKind.get(kind) ?? 0) + used);
        sampled += used;
      }
      const total = machineBusyTicks() - busyAtStart;
      const seconds: [string, number][] = [...KINDS.map(([kind]) => kind), 'other']
        .filter((kind) => byKind.has(kind))
        .map((kind) => [kind, byKind.get(kind)! / CLOCK_TICKS]);
      seconds.push(['unsampled', Math.max(0, total - sampled) / CLOCK_TICKS]);
      return { seconds, total: total / CLOCK_TICKS };
    },
  };
}

/** "plugin 2.5, S3 server 9.1, ..." (kinds under 0.1 s left out). */
export function describeCpu(cpu: CpuByKind): string {
  return cpu.seconds
    .filter(([, seconds]) => seconds >= 0.1)
    .map(([kind, seconds]) => `${kind} ${seconds.toFixed(1)}`)
    .join(', ');
}

/** The CPU of two runs one after the other. */
export function addCpu(a: CpuByKind, b: CpuByKind): CpuByKind {
  const byKind = new Map(a.seconds);
  for (const [kind, seconds] of b.seconds) byKind.set(kind, (byKind.get(kind) ?? 0) + seconds);
  return { seconds: [...byKind], total: a.total + b.total };
}
