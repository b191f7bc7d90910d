// --requests/--limits for helper pods: "cpu=200m,memory=512Mi" into a
// ResourceRequirements, checked before anything is created.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { UsageError } from '../errors.ts';
import { DEFAULT_HELPER_RESOURCES } from './helper-pod.ts';

const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];
// Kubernetes quantities: a decimal number with an optional binary or decimal suffix.
const QUANTITY = /^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function parseResourceList(value: string, flag: string): Record<string, string> {
  const list: Record<string, string> = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, quantity, extra] = pair.split('=');
    if (!name || !RESOURCE_NAMES.includes(name) || extra !== undefined) {
      throw new UsageError(
        `${flag} "${pair}" is not NAME=QUANTITY with NAME one of ${RESOURCE_NAMES.join(', ')}`,
        `use e.g. ${flag} cpu=200m,memory=512Mi`,
      );
    }
    if (!quantity || !QUANTITY.test(quantity))
      throw new UsageError(
        `${flag} ${name}="${quantity ?? ''}" is not a Kubernetes quantity`,
        'use e.g. 200m, 1, 512Mi or 2Gi',
      );
    list[name] = quantity;
  }
  return list;
}

/** The helper pod's resources: each flag replaces the default of its half. */
export function helperResources(requests: string | undefined, limits: string | undefined): V1ResourceRequirements {
  return {
    requests: requests === undefined ? DEFAULT_HELPER_RESOURCES.requests : parseResourceList(requests, '--requests'),
    limits: limits === undefined ? DEFAULT_HELPER_RESOURCES.limits : parseResourceList(limits, '--limits'),
  };
}
