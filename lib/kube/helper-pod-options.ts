// The helper-pod flags (--helper-image, --requests, --limits, --timeout),
// completed and validated once for every command that starts a helper pod.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { parseDuration } from '../format/duration.ts';
import { DEFAULT_HELPER_IMAGE } from './helper-pod.ts';
import { helperResources } from './resources.ts';

export interface HelperPodFlags {
  'helper-image'?: string;
  requests?: string;
  limits?: string;
  timeout: string;
}

export interface HelperPodOptions {
  image: string;
  resources: V1ResourceRequirements;
  /** How long to wait for the helper pod (and the PVC it mounts). */
  timeoutMs: number;
}

export function helperPodOptions(flags: HelperPodFlags): HelperPodOptions {
  return {
    image: flags['helper-image'] ?? DEFAULT_HELPER_IMAGE,
    resources: helperResources(flags.requests, flags.limits),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
  };
}
