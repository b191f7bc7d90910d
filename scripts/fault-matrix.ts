// Runs the fault matrix on the test bed (bringing one up if none is) and
// writes the results as docs/reliability.md. Usage: npm run faults [-- FAULT_ID ...]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULTS, runFaultCase, type FaultOutcome } from '../tests/faults/matrix.ts';
import { down, readBed, up } from '../tests/testbed/bed.ts';
import { REPO_ROOT } from '../tests/testbed/paths.ts';

const only = process.argv.slice(2);
const startedHere = !readBed();
if (startedHere) await up((line) => process.stderr.write(`[testbed] ${line}\n`));
const outcomes: FaultOutcome[] = [];
try {
  for (const fault of FAULTS.filter((f) => only.length === 0 || only.includes(f.id))) {
    for (const operation of fault.operations) {
      process.stderr.write(`[faults] ${operation}: ${fault.title} ... `);
      const outcome = await runFaultCase(fault, operation);
      outcomes.push(outcome);
      process.stderr.write(
        `${outcome.survived ? 'survived' : 'NOT SURVIVED'} (${outcome.ending}, ${outcome.seconds}s)\n`,
      );
      if (!outcome.survived) process.stderr.write(`${JSON.stringify(outcome, null, 1)}\n`);
    }
  }
} finally {
  if (startedHere) await down();
}

const rows = outcomes.map((o) => {
  const title = FAULTS.find((f) => f.id === o.fault)!.title;
  const ending =
    o.ending === 'failed cleanly'
      ? `failed cleanly, exit ${o.exitCode}: \`${o
          .errorLine!.replace(/\|/g, '\\|')
          .replace(/fault-[0-9a-f]{6}/g, 'NS')
          .replace(/(data|target)-cloned-\d+/g, '$1-cloned-TS')
          .replace(/datamover-(restore-)?(data|target)-[0-9a-f]{6}/g, 'datamover-$1$2-RUN')
          .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
          .split(REPO_ROOT)
          .join('.')}\``
      : o.ending;
  const leftovers = o.leftovers.length ? o.leftovers.join(', ') : 'none';
  const rerun = o.rerunExitCode === 0 ? 'byte-identical' : `exit ${o.rerunExitCode}`;
  return (
    `| ${o.operation} | ${title} | ${ending} | ${leftovers} | ${o.partialFiles.length} | ${rerun} | ` +
    `${o.bytesLost} | ${o.survived ? 'yes' : '**no**'} |`
  );
});
const survived = outcomes.filter((o) => o.survived).length;
const lost = outcomes.reduce((sum, o) => sum + o.bytesLost, 0);
const doc =
  `# Reliability: the fault matrix

Produced by \`npm run faults\` (scripts/fault-matrix.ts) on the test bed: each fault is caused for
real while a local-mode backup or restore of 24 MiB (24 files of 1 MiB, or 6,000 files of 1 KiB for
the cut among small entries) runs slowed down (1 MiB batches, rclone bandwidth limit 4 MiB/s). The
same cases run as tests in \`tests/e2e/faults.test.ts\`.

A fault is survived when the run either recovers (exit 0) or fails with one \`error: what; fix\`
line and a non-zero exit; leaves no helper pod, clone or unbound PVC behind; leaves nothing partial
under a final name (bucket objects for a backup, files in the PVC for a restore: restored files
arrive as \`NAME.datamover-part\` and are renamed once their batch is complete); and a re-run
(restore: with \`--overwrite\`; with the fault fixed, e.g. \`--no-clone\` for a StorageClass that
cannot clone) completes with the destination byte-identical to the source.

**Runs: ${outcomes.length}. Faults survived: ${survived} of ${outcomes.length}. Bytes lost: ${lost}.**

| Operation | Fault | Ending | Left in the cluster | Partial files | Re-run | Bytes lost | Survived |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

How each fault is caused: the bed runs pod commands as local processes, so the helper's \`tar\` is
killed with \`pkill\`; the helper pod is deleted with kubectl; the API server (kube-apiserver started
by kwokctl) and the S3 server (rclone serve s3) are killed and started again 3 s later with the same
arguments (a server killed mid-upload leaves its own \`.rclone_temp_put_*\` files in its folder: they
are the server's, not objects the plugin wrote, and are not counted as partial); ` +
  // (the output line continues: split only for the source's line width)
  `the plugin's \`rclone move\`/\`rclone copy\` is killed; SIGINT/SIGTERM go to the plugin;
the clone is made in a StorageClass that refuses clones and the restore target in one no provisioner
serves; the staging folder is a 1 MiB tmpfs in a private mount namespace.
`;
writeFileSync(join(REPO_ROOT, 'docs', 'reliability.md'), doc);
process.stderr.write(
  `[faults] ${survived}/${outcomes.length} survived, ${lost} bytes lost; wrote docs/reliability.md\n`,
);
process.exitCode = survived === outcomes.length ? 0 : 1;
