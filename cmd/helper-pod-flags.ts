// The helper pod's image, resources and wait, for every command that starts one
// (lib/kube/helper-pod-options.ts completes and validates them).
import type { Argv } from 'yargs';

export function addHelperPodFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('helper-image', { type: 'string', describe: 'busybox-compatible image for the helper pod' })
    .option('requests', { type: 'string', describe: 'Helper pod resource requests (default cpu=200m,memory=512Mi)' })
    .option('limits', { type: 'string', describe: 'Helper pod resource limits (default memory=1Gi)' })
    .option('run-as', {
      type: 'string',
      default: 'auto',
      describe:
        'Who the helper pod runs as: auto (the least privilege that reads every file), root (only the ' +
        'capabilities the job needs), or UID[:GID]',
    })
    .option('timeout', {
      type: 'string',
      default: '10m',
      describe: 'How long to wait for the helper pod and the PVCs it mounts (and a VolumeSnapshot)',
    });
}
