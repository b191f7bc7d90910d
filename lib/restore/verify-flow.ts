// Gathering what verify compares: the backup's objects and their MD5 at the
// destination, and optionally the live PVC listed and hashed in a helper pod.
import { randomBytes } from 'node:crypto';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import { getBoundPvc } from '../kube/pvc.ts';
import {
  buildHelperPod,
  createHelperPod,
  deletePod,
  helperDeadlineSeconds,
  helperPodName,
  waitForPodReady,
} from '../kube/helper-pod.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { remoteMd5s } from '../rclone/listing.ts';
import { readManifest } from '../rclone/manifest-io.ts';
import type { RcloneContext } from '../rclone/run.ts';
import { hashPodFiles, listPodFiles } from '../stream/pod-commands.ts';
import { chooseBackup, listBackups } from './catalog.ts';
import { compareWithManifest, compareWithVolume, type Difference } from './verify.ts';

export interface AgainstPvc {
  kube: KubeConnection;
  pvc: string;
  image: string;
  timeoutMs: number;
  log: Logger;
}

export async function verifyBackup(
  rclone: RcloneContext,
  from: string,
  against?: AgainstPvc,
): Promise<{ checked: string; differences: Difference[] }> {
  const backup = chooseBackup(await listBackups(rclone, rclone.destination), from, rclone.destination.display);
  const manifest = await readManifest(rclone, backup.path);
  if (!manifest)
    throw new UserError(
      `backup ${backup.name} has no manifest to verify against`,
      'make a new backup with this version of kubectl-datamover',
    );
  // A crypt remote has no MD5s: sizes are checked, and --against-pvc compares contents.
  const md5 = rclone.destination.encrypted ? new Map<string, string>() : await remoteMd5s(rclone, backup.path);
  const differences = compareWithManifest(manifest, backup.objects, md5);
  if (!against) return { checked: `backup ${backup.name}, ${backup.files} objects match the manifest`, differences };

  const { kube, pvc } = against;
  const namespace = kube.namespace;
  await getBoundPvc(kube, namespace, pvc);
  const runId = randomBytes(3).toString('hex');
  const name = helperPodName('verify', pvc, runId);
  await createHelperPod(
    kube,
    buildHelperPod({
      name,
      namespace,
      claimName: pvc,
      image: against.image,
      readOnly: true,
      labels: { ...MANAGED_BY, [RUN_LABEL]: runId },
      deadlineSeconds: helperDeadlineSeconds(against.timeoutMs),
    }),
  );
  try {
    await waitForPodReady(kube, namespace, name, against.timeoutMs);
    const files = await listPodFiles(kube, { namespace, pod: name });
    const sums = await hashPodFiles(
      kube,
      { namespace, pod: name },
      files.filter((f) => f.type === 'file').map((f) => f.path),
    );
    differences.push(...compareWithVolume(manifest, files, sums));
  } finally {
    await deletePod(kube, namespace, name);
  }
  return { checked: `backup ${backup.name} matches its manifest and PVC "${pvc}"`, differences };
}
