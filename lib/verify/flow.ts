// verify: the backup's objects and their MD5 at the destination against its
// manifest, and optionally the live PVC listed and hashed in a helper pod
// (created through the flow runner, so Ctrl-C removes it).
import { randomBytes } from 'node:crypto';
import type { KubeConnection } from '../kube/connection.ts';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { getBoundPvc } from '../kube/pvc.ts';
import { deletePod, type HelperPrivilege, helperPodName } from '../kube/helper-pod.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { listRemoteFiles, remoteMd5s } from '../rclone/listing.ts';
import { listsMd5s } from '../destination/destination.ts';
import type { RcloneContext } from '../rclone/run.ts';
import { hashPodFiles } from '../stream/pod-commands.ts';
import { type Backup, chooseBackup, listBackups } from '../store/catalog.ts';
import { manifestFromObjects, readManifest } from '../store/manifest.ts';
import { runFlow, type Flow } from '../flow/runner.ts';
import { startHelperPod } from '../flow/pods.ts';
import { startVolumeReader } from '../flow/read-volume.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { compareWithManifest, compareWithVolume, type Difference } from './compare.ts';

export interface AgainstPvc {
  kube: KubeConnection;
  pvc: string;
  helper: HelperPodOptions;
}

export async function verifyBackup(
  rclone: RcloneContext,
  from: string,
  progress: ProgressRenderer,
  against?: AgainstPvc,
): Promise<{ checked: string; differences: Difference[] }> {
  return runFlow({ progress }, async (flow) => {
    const { backup, manifest, recorded, differences } = await flow.step(
      'Compare the backup with its manifest',
      async () => {
        const backup = chooseBackup(await listBackups(rclone, rclone.destination), from, rclone.destination.display);
        const md5 = await objectMd5s(rclone, backup);
        const manifest = await readManifest(rclone, backup.path);
        if (!manifest) {
          // The objects' mtimes are all there is (one request each on S3).
          const times = await listRemoteFiles(rclone, backup.path);
          const objects = new Map(
            [...backup.objects].map(([key, o]) => [key, { ...o, mtime: times.get(key)?.mtime ?? 0 }]),
          );
          return { backup, manifest: manifestFromObjects(objects, md5), recorded: false, differences: [] };
        }
        return { backup, manifest, recorded: true, differences: compareWithManifest(manifest, backup.objects, md5) };
      },
      ({ backup, recorded }) => `backup ${backup.name}, ${backup.files} objects${recorded ? '' : ', no manifest'}`,
    );
    if (!against) {
      if (!recorded)
        return {
          checked:
            `backup ${backup.name} has no manifest (the operator writes none): its ${backup.files} objects are ` +
            'listed, but there is nothing to check them against; pass --against-pvc PVC to compare with a volume',
          differences,
        };
      return { checked: `backup ${backup.name}, ${backup.files} objects match the manifest`, differences };
    }
    const { kube, pvc, helper } = against;
    const live = await getBoundPvc(kube, kube.namespace, pvc);
    const runId = randomBytes(3).toString('hex');
    const { pod, listing } = await startVolumeReader(kube, flow, {
      namespace: kube.namespace,
      runAs: helper.runAs,
      start: (privilege, attempt) => startHelper(flow, against, `${runId}${attempt ? 'r' : ''}`, privilege, live),
      stop: (name) => deletePod(kube, kube.namespace, name),
    });
    const volume = await flow.step(
      `Hash the files of PVC ${against.pvc}`,
      async () => {
        const target = { namespace: against.kube.namespace, pod, signal: flow.signal };
        const files = listing.files;
        const regular = files.filter((f) => f.type === 'file').map((f) => f.path);
        // Without a manifest, empty folders were not recorded: a folder counts only if it holds an object.
        const known = new Set(manifest.entries.filter((e) => e.type === 'dir').map((e) => e.path));
        const compared = recorded ? files : files.filter((f) => f.type !== 'dir' || known.has(f.path));
        return compareWithVolume(manifest, compared, await hashPodFiles(against.kube, target, regular));
      },
      (found) => `${found.length} differences`,
    );
    differences.push(...volume);
    const what = recorded ? 'its manifest and' : 'its objects (no manifest: sizes and MD5s of files and links) and';
    return { checked: `backup ${backup.name} matches ${what} PVC "${against.pvc}"`, differences };
  });
}

async function startHelper(
  flow: Flow,
  against: AgainstPvc,
  runId: string,
  privilege: HelperPrivilege,
  live: V1PersistentVolumeClaim,
): Promise<string> {
  const { kube, pvc, helper } = against;
  // The PVC may be in use: its helper runs where it is attached.
  return startHelperPod(kube, flow, {
    name: helperPodName('verify', pvc, runId),
    namespace: kube.namespace,
    claimName: pvc,
    readOnly: true,
    labels: { ...MANAGED_BY, [RUN_LABEL]: runId },
    helper,
    privilege,
    inUse: live,
  });
}

/** The MD5 of each object of `backup`: from its listing where that has them, else read (none behind crypt). */
async function objectMd5s(rclone: RcloneContext, backup: Backup): Promise<Map<string, string>> {
  // A crypt remote has no MD5s: sizes are checked, and --against-pvc compares contents.
  if (rclone.destination.encrypted) return new Map();
  if (listsMd5s(rclone.destination)) return new Map([...backup.objects].map(([key, object]) => [key, object.md5]));
  return remoteMd5s(rclone, backup.path);
}
