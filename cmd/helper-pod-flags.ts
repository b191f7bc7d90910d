// The helper pod's image and resources, for every command that starts one.
import type { Argv } from 'yargs';

export function addHelperPodFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('helper-image', { type: 'string', describe: 'busybox-compatible image for the helper pod' })
    .option('requests', { type: 'string', describe: 'Helper pod resource requests (default cpu=200m,memory=512Mi)' })
    .option('limits', { type: 'string', describe: 'Helper pod resource limits (default memory=1Gi)' });
}
