// Benchmark of local mode on the bed (not a test: it prints figures).
// For each data set it measures, in the same run:
//   channel  - `kubectl exec <pod> -- tar -c .` to /dev/null: what the exec channel can carry out
//   channel in - the same tree's tar into `kubectl exec -i <pod> -- sh -c 'cat > /dev/null'`: a restore's way
//   by hand  - `kubectl cp` to a folder, then `rclone sync` to the bucket
//   upload only / download only - `rclone copy` of the same tree from a local folder to the bucket and
//              back: with the channel, they bound a streaming pipeline (backup: max(channel, upload only);
//              restore: max(channel in, download only))
//   plugin   - `kubectl datamover backup` as the npm package runs it (the bundle in dist/; its peak RSS), against
//              that limit and the by-hand time; for (a) also with --transport port-forward
// and (c) a re-run of (a) and (b) in one tree after 1% of it changed. Each figure comes with the machine's busy
// CPU seconds: where the channel and the storage share the cores (the bed), (their CPU) / cores bounds a pipeline too.
// Sizes scale with BENCH_SCALE (default 1: 2 GiB and 10,000 files).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { benchBed, benchSecret, benchVolume, installedPlugin } from './bench-bed.ts';
import { addCpu, type CpuByKind, describeCpu, sampleCpuByProcess } from './cpu-by-process.ts';

const scale = Number(process.env.BENCH_SCALE ?? '1');
const { bed, env, kubectl, ns, close } = await benchBed('bench');
const entry = await installedPlugin();
const rcloneEnv = {
  ...env,
  RCLONE_CONFIG_BENCH_TYPE: 's3',
  RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
  RCLONE_CONFIG_BENCH_ENDPOINT: bed.s3.endpoint,
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: bed.s3.accessKeyId,
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: bed.s3.secretAccessKey,
  RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
};
delete (rcloneEnv as Record<string, unknown>).AWS_CA_BUNDLE;

const cores = availableParallelism();

/** Wall seconds, the result, and the CPU seconds the machine spent meanwhile, by kind of process. */
async function timed<T>(fn: () => Promise<T>): Promise<[number, T, CpuByKind]> {
  const start = process.hrtime.bigint();
  const sampler = sampleCpuByProcess();
  const result = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e9, result, sampler.stop()];
}

const volume = (name: string) => benchVolume(kubectl, ns, name, '10Gi');

async function reader(pvc: string): Promise<string> {
  const pod = `reader-${pvc}`;
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    [
      'apiVersion: v1',
      'kind: Pod',
      `metadata: {name: ${pod}}`,
      'spec:',
      '  containers: [{name: main, image: busybox, workingDir: /data,' +
        ' volumeMounts: [{name: d, mountPath: /data, readOnly: true}]}]',
      `  volumes: [{name: d, persistentVolumeClaim: {claimName: ${pvc}, readOnly: true}}]`,
      '',
    ].join('\n'),
  );
  await kubectl(['wait', '-n', ns, '--for=condition=Ready', `pod/${pod}`, '--timeout=60s']);
  return pod;
}

/** A backup of `pvc` into the bucket of Secret `secret` (by default its own), with `extra` flags. */
async function plugin(
  pvc: string,
  options: { secret?: string; extra?: string[] } = {},
): Promise<{
  seconds: number;
  cpu: CpuByKind;
  rssMb: number;
  /** Seconds in the clone's phase: on the bed a `cp -a` of the volume, in a cluster the CSI driver's work. */
  cloneSeconds: number;
  result: { channelBytes: number; bytesSent: number; filesSent: number };
}> {
  const timeFile = join(tmpdir(), `bench-time-${pvc}`);
  const metricsFile = join(tmpdir(), `bench-metrics-${pvc}.prom`);
  const [seconds, run, cpu] = await timed(() =>
    execa(
      '/usr/bin/time',
      [
        '-f',
        '%M',
        '-o',
        timeFile,
        process.execPath,
        entry,
        'backup',
        pvc,
        '-n',
        ns,
        '--secret',
        options.secret ?? `s3-${pvc}`,
        '-o',
        'json',
        '--rclone',
        bed.rcloneNew,
        '--metrics-file',
        metricsFile,
        ...(options.extra ?? []),
      ],
      { env },
    ),
  );
  const clone = /^datamover_phase_duration_seconds\{[^}]*phase="CreatingClonedPVC"[^}]*\} (\S+)$/m.exec(
    readFileSync(metricsFile, 'utf8'),
  );
  return {
    seconds,
    cpu,
    cloneSeconds: Number(clone?.[1] ?? 0),
    rssMb: Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024,
    result: JSON.parse(run.stdout),
  };
}

const rows: string[][] = [];
/** Where each row's CPU went, by kind of process. */
const cpuRows: string[] = [];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const ratio = (a: number, b: number) => (a / b).toFixed(2);

try {
  await kubectl(['create', 'namespace', ns]);

  const sets = [
    {
      name: 'large',
      label: `(a) ${Math.round(2048 * scale)} MiB in 4 large files`,
      fill: (dir: string) => {
        for (let i = 0; i < 4; i++)
          writeFileSync(join(dir, `blob-${i}.bin`), randomBytes(Math.round(512 * scale) * 1024 * 1024));
      },
    },
    {
      name: 'small',
      label: `(b) ${Math.round(10000 * scale)} files of 4 KiB`,
      fill: (dir: string) => {
        for (let d = 0; d < 100; d++) {
          mkdirSync(join(dir, `d${d}`));
          for (let i = 0; i < Math.round(100 * scale); i++)
            writeFileSync(join(dir, `d${d}`, `f${i}.dat`), randomBytes(4096));
        }
      },
    },
  ];
  for (const set of sets) {
    // A bucket of its own per data set (the plugin syncs to the bucket root, as the operator does),
    // and another for the by-hand copy, so that no run lists or prunes another's objects.
    const bucket = `bench-${set.name}`;
    await execa(bed.rcloneNew, ['mkdir', `BENCH:${bucket}`], { env: rcloneEnv });
    await execa(bed.rcloneNew, ['mkdir', `BENCH:${bucket}-byhand`], { env: rcloneEnv });
    await benchSecret(kubectl, bed, ns, `s3-${set.name}`, bucket);
    const dir = await volume(set.name);
    set.fill(dir);
    const pod = await reader(set.name);
    const [channel, , channelCpu] = await timed(() =>
      execa('kubectl', ['exec', '-n', ns, pod, '--', 'tar', '-c', '.'], { env, stdout: 'ignore' }),
    );
    const local = mkdtempSync(join(tmpdir(), 'bench-byhand-'));
    // What kubectl cp does (its tar over exec, unpacked locally), without its retry logic, which
    // gives up on large trees here ("unexpected EOF, dropping out copy after 0 retries").
    const [copy, , copyCpu] = await timed(() =>
      execa('kubectl', ['exec', '-n', ns, pod, '--', 'tar', '-c', '.'], { env, buffer: false }).pipe(
        'tar',
        ['-x', '-C', local],
        { buffer: false },
      ),
    );
    const [sync, , syncCpu] = await timed(() =>
      execa(bed.rcloneNew, ['sync', local, `BENCH:${bucket}-byhand`], { env: rcloneEnv }),
    );
    // The by-hand sync went from a local folder to an empty bucket: that is the upload-only baseline.
    const uploadOnly = sync;
    // The channel into a pod (a restore's way): the same tree's tar into exec stdin, to /dev/null.
    const [channelIn, , channelInCpu] = await timed(() =>
      execa('tar', ['-c', '-C', local, '.'], { buffer: false }).pipe(
        'kubectl',
        ['exec', '-i', '-n', ns, pod, '--', 'sh', '-c', 'cat > /dev/null'],
        { env },
      ),
    );
    const back = mkdtempSync(join(tmpdir(), 'bench-download-'));
    const [downloadOnly, , downloadCpu] = await timed(() =>
      execa(bed.rcloneNew, ['copy', `BENCH:${bucket}-byhand`, back], { env: rcloneEnv }),
    );
    rmSync(back, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
    const backupLimit = Math.max(channel, uploadOnly);
    const restoreLimit = Math.max(channelIn, downloadOnly);
    // On a machine whose cores the channel and the storage share, their CPU bounds a pipeline too.
    const backupFloor = (channelCpu.total + syncCpu.total) / cores;
    const restoreFloor = (channelInCpu.total + downloadCpu.total) / cores;
    const goal = set.name === 'large' ? '1.15' : '1.5';
    const full = await plugin(set.name);
    const row = (method: string, seconds: number, cpu: CpuByKind, notes = '') => {
      rows.push([set.label, method, seconds.toFixed(1), cpu.total.toFixed(1), ratio(seconds, channel), notes]);
      cpuRows.push(`${set.label}, ${method}: ${describeCpu(cpu)}`);
    };
    row('channel limit (kubectl exec tar)', channel, channelCpu);
    row('channel in (tar into kubectl exec -i)', channelIn, channelInCpu);
    row('by hand (exec tar to a folder + rclone sync)', copy + sync, addCpu(copyCpu, syncCpu));
    row('upload only (rclone copy folder to bucket)', uploadOnly, syncCpu);
    row('download only (rclone copy bucket to folder)', downloadOnly, downloadCpu);
    row(
      'kubectl datamover backup',
      full.seconds,
      full.cpu,
      `${mb(full.result.channelBytes)} MiB on the channel, peak RSS ${full.rssMb.toFixed(0)} MB; ` +
        `${ratio(full.seconds, backupLimit)}x the limit max(channel, upload only) (goal <= ${goal}), ` +
        `${ratio(full.seconds, copy + sync)}x by-hand time (goal <= 0.7); CPU floor (channel + upload only CPU) / ` +
        `${cores} cores = ${backupFloor.toFixed(1)} s: ${ratio(full.seconds, backupFloor)}x it`,
    );
    if (set.name === 'large') {
      // The same backup with the large files from rclone's server in the helper pod, into a bucket of its own.
      await execa(bed.rcloneNew, ['mkdir', `BENCH:${bucket}-pf`], { env: rcloneEnv });
      await benchSecret(kubectl, bed, ns, `s3-${set.name}-pf`, `${bucket}-pf`);
      const pf = await plugin(set.name, { secret: `s3-${set.name}-pf`, extra: ['--transport', 'port-forward'] });
      row(
        'kubectl datamover backup --transport port-forward',
        pf.seconds,
        pf.cpu,
        `${pf.result.filesSent} files sent, peak RSS ${pf.rssMb.toFixed(0)} MB; ` +
          `${ratio(pf.seconds, backupLimit)}x the limit (goal <= ${goal}), ` +
          `${ratio(pf.seconds, copy + sync)}x by-hand time (goal <= 0.7), ` +
          `${ratio(pf.seconds, full.seconds)}x the exec backup's time, ` +
          `${ratio(pf.seconds, backupFloor)}x the CPU floor`,
      );
    }

    /** A restore of the same data into a new PVC `to`, with `extra` flags: seconds and CPU seconds. */
    const restoreInto = async (to: string, extra: string[] = []) => {
      const [seconds, , cpu] = await timed(() =>
        execa(
          process.execPath,
          [
            entry,
            'restore',
            '-n',
            ns,
            '--secret',
            `s3-${set.name}`,
            '--from',
            'plain',
            '--to-pvc',
            to,
            '--create',
            '--size',
            '10Gi',
            '--rclone',
            bed.rcloneNew,
            ...extra,
          ],
          { env },
        ),
      );
      return { seconds, cpu };
    };
    const restore = await restoreInto(`${set.name}-restored`);
    row(
      'kubectl datamover restore',
      restore.seconds,
      restore.cpu,
      `${ratio(restore.seconds, restoreLimit)}x the limit max(channel in, download only) (goal <= ${goal}), ` +
        `${ratio(restore.seconds, full.seconds)}x the backup's time; CPU floor (channel in + download only CPU) / ` +
        `${cores} cores = ${restoreFloor.toFixed(1)} s: ${ratio(restore.seconds, restoreFloor)}x it`,
    );
    if (set.name === 'large') {
      // The same restore with the large files written by rclone's server in the helper pod.
      const pf = await restoreInto(`${set.name}-restored-pf`, ['--transport', 'port-forward']);
      row(
        'kubectl datamover restore --transport port-forward',
        pf.seconds,
        pf.cpu,
        `${ratio(pf.seconds, restoreLimit)}x the limit (goal <= ${goal}), ` +
          `${ratio(pf.seconds, restore.seconds)}x the exec restore's time, ` +
          `${ratio(pf.seconds, restoreFloor)}x the CPU floor`,
      );
    }
  }

  // (c) the re-run: a tree of (a) and (b) together, backed up in full, then again after 1% of it changed:
  // 1% of its files (100 of the small ones rewritten) and 1% of its bytes (a new file of that size).
  const mixed = await volume('mixed');
  for (const set of sets) set.fill(mixed);
  await execa(bed.rcloneNew, ['mkdir', 'BENCH:bench-mixed'], { env: rcloneEnv });
  await benchSecret(kubectl, bed, ns, 's3-mixed', 'bench-mixed');
  const full = await plugin('mixed');
  const files = Math.round(10000 * scale) + 4;
  const bytes = Math.round(2048 * scale) * 1024 * 1024 + Math.round(10000 * scale) * 4096;
  for (let i = 0; i < Math.round(files / 100); i++) {
    writeFileSync(join(mixed, `d${i % 100}`, `f${Math.floor(i / 100)}.dat`), randomBytes(4096));
  }
  writeFileSync(join(mixed, 'new.bin'), randomBytes(Math.round(bytes / 100)));
  const rerun = await plugin('mixed');
  const mixedRow = (method: string, run: typeof full, notes: string) => {
    rows.push(['(c) (a) + (b) in one tree', method, run.seconds.toFixed(1), run.cpu.total.toFixed(1), '', notes]);
    cpuRows.push(`(c), ${method}: ${describeCpu(run.cpu)}`);
  };
  mixedRow(
    'kubectl datamover backup (full)',
    full,
    `${mb(full.result.channelBytes)} MiB on the channel, peak RSS ${full.rssMb.toFixed(0)} MB`,
  );
  mixedRow(
    'kubectl datamover backup (re-run after 1% changed)',
    rerun,
    `${rerun.result.filesSent} files sent, ` +
      `${((100 * rerun.result.channelBytes) / Math.max(full.result.channelBytes, 1)).toFixed(2)}% ` +
      `of the full run's channel bytes (goal <= 2%), ${ratio(rerun.seconds, full.seconds)}x the full run's ` +
      `time (goal <= 0.15), peak RSS ${rerun.rssMb.toFixed(0)} MB; without the clone (the bed's cp -a, a CSI ` +
      `driver's work in a cluster: ${full.cloneSeconds.toFixed(1)} s and ${rerun.cloneSeconds.toFixed(1)} s) ` +
      `${ratio(rerun.seconds - rerun.cloneSeconds, full.seconds - full.cloneSeconds)}x`,
  );
  const header = ['data set', 'method', 'seconds', 'CPU s', 'x channel', 'notes'];
  const widths = header.slice(0, -1).map((title, i) => Math.max(...rows.map((r) => r[i]!.length), title.length));
  const line = (r: string[]) => r.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join('  ');
  process.stdout.write(
    `\nCPU s: the whole machine's busy CPU seconds meanwhile (${cores} cores; the bed's servers count too)\n` +
      `${line(header)}\n${rows.map(line).join('\n')}\n` +
      `\nWhere the CPU seconds went, by kind of process (unsampled: processes shorter than a 100 ms sample)\n` +
      `${cpuRows.join('\n')}\n`,
  );
} finally {
  await close();
}
