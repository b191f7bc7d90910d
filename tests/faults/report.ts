// docs/reliability.md from the fault matrix's outcomes (scripts/fault-matrix.ts writes it).
import { FAULTS, type FaultOutcome } from './matrix.ts';
import { REPO_ROOT } from '../testbed/paths.ts';

export function reliabilityDoc(outcomes: FaultOutcome[]): string {
  const survived = outcomes.filter((o) => o.survived).length;
  const lost = outcomes.reduce((sum, o) => sum + o.bytesLost, 0);
  const seconds = Math.round(outcomes.reduce((sum, o) => sum + o.seconds, 0));
  return (
    `# Reliability: the fault matrix

Produced by \`npm run faults\` (scripts/fault-matrix.ts) on the test bed: each fault is caused for
real while a local-mode backup or restore runs, slowed down (backup: 1 MiB staging batches; restore:
2 MiB batches; rclone bandwidth limit 4 MiB/s), on the least data that still shows it: 2 files of
1 MiB when a transfer is all the fault needs; 16 files of 1 MiB (the pod's tar then streams
long enough to be caught running) for the faults aimed at the stream; 3,000 files of 1 KiB for the
cut among small entries; 2 files of 20 MiB for the faults of \`--transport port-forward\` (files from
16 MiB go through the helper pod's rclone server). The same cases run as tests in
\`tests/e2e/faults.test.ts\`, \`tests/e2e/faults-restore.test.ts\` and \`tests/faults/bed-outages.test.ts\`.

The faulted run itself is judged, right after it ends and before anything repairs it. A fault is
survived when:

- it happened: the process it kills was seen running and killed, the helper pod was deleted, the
  server stopped while the run was using it; a fault that missed the run fails the case;
- the run ended as the README says it does under that fault: a cut exec stream **resumes** (exit 0
  and \`streamResumes\` > 0 in its \`-o json\`), an S3 server restart is **recovered** from (exit 0),
  and only the faults the README says end the run **fail cleanly**: a non-zero exit and one
  \`error: what; fix\` line that names the fault;
- a run that exited 0 left every file, with its bytes, at the destination (bucket objects for a
  backup, files in the PVC for a restore) and nothing else: a missing file is a failure; a run that
  failed left nothing partial under a final name (restored files arrive as \`.datamover-part/NAME\`
  in their folder and are renamed once their batch is complete);
- it left no helper pod, clone or unbound PVC behind;
- a re-run (restore: with \`--overwrite\`; with the fault fixed, e.g. \`--no-clone\` for a
  StorageClass that cannot clone) completes with the destination byte-identical to the source.

**Runs: ${outcomes.length}. Faults survived: ${survived} of ${outcomes.length}. Bytes lost: ${lost}. ` +
    `Time: ${seconds} s.**

${HEADER}
${outcomes.map(row).join('\n')}
${problemsSection(outcomes)}
How each fault is caused: the bed runs pod commands as local processes (below its kwok-controller),
so the helper's \`tar\` is killed once it is seen streaming; SIGINT/SIGTERM go to the plugin and
the S3 server is stopped while the run's \`rclone\` transfers; the helper pod's \`tar\` is killed
once it streams and the pod deleted at once through the API, as a kubelet stops a deleted pod's
containers; the API server (kube-apiserver
started by kwokctl, while the stream runs) and the S3 server (rclone serve s3) are killed and
started again 3 s later with the same arguments (a server killed mid-upload leaves its own
\`.rclone_temp_put_*\` files in its folder: they are the server's, not objects the plugin wrote); the
run's own \`rclone move\`/\`rclone copy\` is killed; with \`--transport port-forward\`, a second into the
copy through the port-forward, the run's \`kubectl port-forward\` is killed, or the helper pod's
\`rclone serve webdav\` (the bed's job-runner runs the pod's container as a local process), or the pod is
deleted (its container stopped as a kubelet does: SIGTERM, then SIGKILL after its grace period), or the API
server is stopped for 3 s; the clone is made in a StorageClass that refuses
clones and the restore target in one no provisioner serves; the staging folder is a 1 MiB tmpfs in a private
mount namespace. Runs print their result with \`-o json\`.
`
  );
}

const HEADER = [
  '| Operation | Fault | README | Ending | The fault | Right after the run | Left in the cluster | Re-run |',
  ' Bytes lost | Time | Survived |\n',
  '|---|---|---|---|---|---|---|---|---|---|---|',
].join('');

function row(o: FaultOutcome): string {
  const title = FAULTS.find((f) => f.id === o.fault)!.title;
  const ending =
    o.ending === 'recovered'
      ? `recovered${o.streamResumes ? `, ${o.streamResumes} stream resume${o.streamResumes > 1 ? 's' : ''}` : ''}`
      : `${o.ending}, exit ${o.exitCode}${o.errorLine ? `: \`${generic(o.errorLine)}\`` : ''}`;
  const after = o.damaged.length
    ? `**${o.damaged.length} files wrong**`
    : o.ending === 'recovered'
      ? 'complete'
      : 'nothing partial';
  const cells = [
    o.operation,
    title,
    o.expected,
    ending,
    generic(o.injected),
    after,
    o.leftovers.length ? o.leftovers.join(', ') : 'none',
    o.rerunExitCode === 0 ? 'byte-identical' : `exit ${o.rerunExitCode}`,
    String(o.bytesLost),
    `${o.seconds} s`,
    o.survived ? 'yes' : '**no**',
  ];
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function problemsSection(outcomes: FaultOutcome[]): string {
  const failed = outcomes.filter((o) => !o.survived);
  if (failed.length === 0) return '';
  const lines = failed.map((o) => `- ${o.operation} ${o.fault}: ${o.problems.map(generic).join('; ')}`);
  return `\nNot survived:\n\n${lines.join('\n')}\n`;
}

/** Names that change from run to run, made generic. */
function generic(text: string): string {
  return text
    .replace(/fault-[0-9a-f]{6}/g, 'NS')
    .replace(/(data|target)-cloned-\d+/g, '$1-cloned-TS')
    .replace(/datamover-(restore-)?(data|target)-[0-9a-f]{6}/g, 'datamover-$1$2-RUN')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\S*\/fault-\w{6}\/staging\/kubectl-datamover-\w{6}/g, 'BED/fault-X/staging/kubectl-datamover-X')
    .split(REPO_ROOT)
    .join('.');
}
