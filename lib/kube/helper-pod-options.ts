// The helper-pod flags (--helper-image, --requests, --limits, --run-as, --timeout),
// completed and validated once for every command that starts a helper pod.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { UsageError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { DEFAULT_HELPER_IMAGE } from './helper-pod.ts';
import { helperResources } from './resources.ts';

export interface HelperPodFlags {
  'helper-image'?: string;
  requests?: string;
  limits?: string;
  'run-as'?: string;
  timeout: string;
}

/** --run-as: `auto` starts as nobody and moves to root (reading or writing only) when it must. */
export type RunAs = { kind: 'auto' } | { kind: 'root' } | { kind: 'user'; uid: number; gid: number };

export interface HelperPodOptions {
  image: string;
  resources: V1ResourceRequirements;
  runAs: RunAs;
  /** How long to wait for the helper pod (and the PVC it mounts). */
  timeoutMs: number;
}

export function helperPodOptions(flags: HelperPodFlags): HelperPodOptions {
  return {
    image: flags['helper-image'] ?? DEFAULT_HELPER_IMAGE,
    resources: helperResources(flags.requests, flags.limits),
    runAs: parseRunAs(flags['run-as'] ?? 'auto'),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
  };
}

export function parseRunAs(value: string): RunAs {
  if (value === 'auto' || value === 'root') return { kind: value };
  const match = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(value);
  const uid = Number(match?.[1]);
  const gid = match?.[2] === undefined ? uid : Number(match[2]);
  if (!match || uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1)
    throw new UsageError(`--run-as "${value}" is not auto, root or UID[:GID]`, 'e.g. --run-as 999 or --run-as 999:999');
  if (uid === 0) return { kind: 'root' };
  return { kind: 'user', uid, gid };
}
