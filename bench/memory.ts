// Memory of a local-mode backup on the bed, as the data grows (not a test: it prints figures).
// For trees of 1,000 to 100,000 files and of 512 MiB to 2 GiB (8 GiB with BENCH_MEMORY_8G=1) it runs
// `kubectl datamover backup` and samples its processes every 100 ms: the plugin's own peak RSS (its
// VmHWM), the largest rclone child's, and the most the whole process tree held at once (the sum of its PSS).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { processesUnder } from '../tests/e2e/support/bed.ts';
import { benchBed, benchSecret, benchVolume, installedPlugin } from './bench-bed.ts';

const { bed, env, kubectl, ns, close } = await benchBed('bench-mem');
const entry = await installedPlugin();

const MiB = 1024 * 1024;
const sets: Array<{ label: string; fill: (dir: string) => void }> = [
  ...[1_000, 10_000, 100_000].map((count) => ({
    label: `${count.toLocaleString('en')} files of 1 KiB`,
    fill: (dir: string) => {
      const block = randomBytes(1024);
      for (let d = 0; d < count / 100; d++) {
        mkdirSync(join(dir, `d${d}`));
        for (let i = 0; i < 100; i++) writeFileSync(join(dir, `d${d}`, `f${i}`), block);
      }
    },
  })),
  ...[512, 2048, ...(process.env.BENCH_MEMORY_8G ? [8192] : [])].map((size) => ({
    label: `${size} MiB in 4 files`,
    fill: (dir: string) => {
      const chunk = randomBytes(16 * MiB);
      for (let f = 0; f < 4; f++) {
        const path = join(dir, `blob-${f}.bin`);
        writeFileSync(path, '');
        for (let written = 0; written < (size / 4) * MiB; written += chunk.length)
          writeFileSync(path, chunk, { flag: 'a' });
      }
    },
  })),
];

/**
 * A process's peak RSS, and its share of the memory now (PSS: pages it shares with others, such as the
 * rclone binary's, which several rclone processes map at once, count once over all of them).
 */
function memoryOf(pid: number): { peakMb: number; nowMb: number } {
  const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return { peakMb: kb(status, 'VmHWM') / 1024, nowMb: kb(rollup, 'Pss') / 1024 };
  } catch {
    return { peakMb: 0, nowMb: 0 }; // it ended between the listing and the read
  }
}

async function sampledBackup(pvc: string) {
  const started = performance.now();
  const run = execa(process.execPath, [entry, 'backup', pvc, '-n', ns, '--secret', 's3', '--rclone', bed.rcloneNew], {
    env,
    reject: false,
  });
  let done = false;
  void run.finally(() => {
    done = true;
  });
  const peaks = { plugin: 0, rclone: 0, tree: 0 };
  while (!done) {
    let tree = 0;
    for (const p of processesUnder([run.pid!])) {
      const { peakMb, nowMb } = memoryOf(p.pid);
      tree += nowMb;
      if (p.pid === run.pid) peaks.plugin = Math.max(peaks.plugin, peakMb);
      else if (p.command === 'rclone') peaks.rclone = Math.max(peaks.rclone, peakMb);
    }
    peaks.tree = Math.max(peaks.tree, tree);
    await sleep(100);
  }
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`backup of ${pvc} failed: ${result.stderr}`);
  return { seconds: (performance.now() - started) / 1000, ...peaks };
}

const rows: string[][] = [];
try {
  await kubectl(['create', 'namespace', ns]);
  for (const [i, set] of sets.entries()) {
    const pvc = `set-${i}`;
    const bucket = `bench-mem-${i}`;
    mkdirSync(join(bed.s3.dataDir, bucket), { recursive: true }); // the S3 server's buckets are its folders
    await benchSecret(kubectl, bed, ns, 's3', bucket);
    set.fill(await benchVolume(kubectl, ns, pvc));
    const run = await sampledBackup(pvc);
    rows.push([set.label, run.seconds.toFixed(1), run.plugin.toFixed(0), run.rclone.toFixed(0), run.tree.toFixed(0)]);
    process.stderr.write(`${rows.at(-1)!.join('  ')}\n`);
  }
  const header = ['data set', 'seconds', 'plugin peak MB', 'largest rclone peak MB', 'whole tree at once MB (PSS)'];
  const widths = header.map((title, i) => Math.max(...rows.map((r) => r[i]!.length), title.length));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n`);
} finally {
  await close();
}
