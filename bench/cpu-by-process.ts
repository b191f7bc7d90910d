// Where a run's CPU goes on the bed, by kind of process: every process on the machine is sampled from /proc
// (utime + stime) every 100 ms while the run lasts; what the samples miss (a process that lived less than a
// sample, the tail of one that ended between two) is the machine's busy time (/proc/stat) minus their sum.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The kinds, in the order they are printed; a process's kind comes from its program and arguments. */
const KINDS: [kind: string, matches: (p: { program: string; script: string; args: string[] }) => boolean][] = [
  ['plugin', (p) => p.program === 'node' && p.script.startsWith('kubectl-datamover')],
  ['S3 server', (p) => p.program === 'rclone' && p.args.includes('serve') && p.args.includes('s3')],
  ["pod's rclone server", (p) => p.program === 'rclone' && p.args.includes('serve') && p.args.includes('webdav')],
  ["user's rclone", (p) => p.program === 'rclone'],
  // The plugin's shell that ends its kubectl port-forward with it counts as kubectl.
  ['kubectl', (p) => p.program === 'kubectl' || (p.program === 'sh' && p.args.some((a) => a.startsWith('exec 3<&0')))],
  ['API server, etcd', (p) => /^(kube-apiserver|etcd|kube-controller-manager|kube-scheduler)$/.test(p.program)],
  ['kwok (exec, port-forward)', (p) => p.program === 'kwok' || p.program === 'kwok-controller'],
  ["bed's port relay", (p) => p.program === 'node' && p.script === 'port-relay.ts'],
  ["bed's controllers", (p) => p.program === 'node' && p.args.some((a) => a.includes('/tests/testbed/'))],
  // What kwok's exec runs in a pod: the bed's sandbox scripts (bash, unshare) and BusyBox's applets.
  ['pod commands (BusyBox)', (p) => /^(busybox|sh|bash|unshare|tar|md5sum|find|cat|rm|mv)$/.test(p.program)],
];

/** A process's program (argv[0]'s base name), its script (a node's first non-flag argument), its arguments. */
function describe(cmdline: string) {
  const argv = cmdline.split('\0').filter(Boolean);
  const base = (path = '') => path.slice(path.lastIndexOf('/') + 1);
  return { program: base(argv[0]), script: base(argv.slice(1).find((a) => !a.startsWith('-'))), args: argv.slice(1) };
}

function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

/**
 * CPU ticks of each live process, by pid and start time (a pid may be reused); its kind is read again when its
 * name changes (a process seen between its fork and its exec has its parent's command line).
 */
function sample(kinds: Map<string, { name: string; kind: string }>): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Fields after the name (which may hold spaces): utime is field 14, stime 15, starttime 22.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = `${pid}:${fields[19]}`;
      ticks.set(key, Number(fields[11]) + Number(fields[12]));
      if (kinds.get(key)?.name !== name) {
        const process = describe(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
        kinds.set(key, { name, kind: KINDS.find(([, matches]) => matches(process))?.[0] ?? 'other' });
      }
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
  const kinds = new Map<string, { name: string; kind: string }>();
  const first = sample(kinds);
  const last = new Map(first);
  const busyAtStart = machineBusyTicks();
  const timer = setInterval(() => {
    for (const [key, ticks] of sample(kinds)) last.set(key, ticks);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      for (const [key, ticks] of sample(kinds)) last.set(key, ticks);
      const byKind = new Map<string, number>();
      let sampled = 0;
      for (const [key, ticks] of last) {
        const used = ticks - (first.get(key) ?? 0);
        if (used <= 0) continue;
        const kind = kinds.get(key)?.kind ?? 'other';
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
