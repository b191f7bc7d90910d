// `restore --dry-run`: what a restore would write into the PVC (create, overwrite, unchanged,
// delete), found by listing the PVC in a read-only helper pod, with nothing written.
import { randomBytes } from 'node:crypto';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import { findPvc, getBoundPvc, waitsForFirstConsumer } from '../kube/pvc.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { listPodFiles } from '../stream/pod-commands.ts';
import { runFlow } from '../flow/runner.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { overwrittenPaths, planTarget, type PlannedPath, type TargetPlan } from './target-plan.ts';
import { incomingFolder } from './server-restore.ts';
import {
  describeSource,
  isSelective,
  keepsOwners,
  leftByKilledRuns,
  missingPvc,
  preflight,
  type RestoreOptions,
  type Run,
  selectiveFields,
  startHelper,
} from './restore.ts';

export interface RestorePlanResult {
  dryRun: true;
  from: string;
  source: string;
  pvc: string;
  namespace: string;
  /** The size of the PVC that --create would make, when it does not exist. */
  createPvc?: string;
  paths?: string[];
  toPath?: string;
  entries: PlannedPath[];
  counts: TargetPlan['counts'];
  /** Why the restore would be refused as it stands (e.g. it needs --overwrite), if it would. */
  refused?: string;
}

/**
 * `restore --dry-run`: what the restore would write, found by listing the PVC in a read-only helper
 * pod (removed after). Nothing is written, no PVC is created, the PVC's annotation is not changed.
 */
export async function planRestore(
  kube: KubeConnection,
  options: RestoreOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<RestorePlanResult> {
  return runFlow({ progress }, async (flow) => {
    const run: Run = { kube, options, flow, log, runId: randomBytes(3).toString('hex') };
    const source = await flow.step('Preflight checks', () => preflight(run, false), describeSource);
    const found = await flow.step(
      'List the target PVC',
      () => listTarget(run),
      ({ files, createPvc }) =>
        createPvc ? `${options.toPvc} would be created (${createPvc})` : `${files.length} entries`,
    );
    const plan = planTarget(source.selection, found.files, {
      manifest: Boolean(source.manifest),
      keepOwners: keepsOwners(options, source.manifest),
      deleteExtra: options.deleteExtra,
    });
    return {
      dryRun: true as const,
      from: source.backup.name,
      source: source.rclone.destination.display,
      pvc: options.toPvc,
      namespace: options.namespace,
      ...(found.createPvc ? { createPvc: found.createPvc } : {}),
      ...selectiveFields(options),
      entries: plan.paths,
      counts: plan.counts,
      ...refusal(options, plan, found.files.length > 0),
    };
  });
}

/** The PVC's entries, by a read-only helper pod; none for a PVC that does not exist yet or was never used. */
async function listTarget(run: Run): Promise<{ files: PodFile[]; createPvc?: string }> {
  const { kube, options, flow } = run;
  const { namespace, toPvc } = options;
  const existing = await findPvc(kube, namespace, toPvc);
  if (!existing) {
    if (!options.create) throw missingPvc(options);
    return { files: [], createPvc: options.create.size };
  }
  if (existing.status?.phase !== 'Bound') {
    if (await waitsForFirstConsumer(kube, existing)) return { files: [] };
    await getBoundPvc(kube, namespace, toPvc); // says why it is not Bound
  }
  const pod = await startHelper(run, { summary: '', existing }, true);
  const { files, error } = await listPodFiles(kube, { namespace, pod, signal: flow.signal });
  if (error)
    throw new UserError(
      `could not list every file of PVC "${toPvc}": ${error}`,
      'check that the helper pod may read the volume (leave --run-as out)',
    );
  // What the real run would remove before it writes is not the PVC's content.
  const left = (await leftByKilledRuns(run, pod)).ended.map(incomingFolder);
  if (left.length)
    run.log.warn(`the restore would remove ${left.join(', ')} from the PVC: what a restore that was killed left`);
  const kept = files.filter((f) => !left.some((folder) => f.path === folder || f.path.startsWith(`${folder}/`)));
  return { files: kept };
}

function refusal(options: RestoreOptions, plan: TargetPlan, occupied: boolean): { refused?: string } {
  const conflict = isSelective(options) && plan.paths.find((p) => p.conflict);
  if (conflict) return { refused: `"${quoteEscapedBytes(conflict.path)}" is a folder in one and a file in the other` };
  if (options.overwrite) return {};
  if (!isSelective(options))
    return occupied ? { refused: `PVC "${options.toPvc}" is not empty: the restore needs --overwrite` } : {};
  const overwritten = overwrittenPaths(plan).length;
  const what = overwritten === 1 ? '1 path would be' : `${overwritten} paths would be`;
  return overwritten ? { refused: `${what} overwritten: the restore needs --overwrite` } : {};
}
