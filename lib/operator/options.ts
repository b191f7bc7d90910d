// create's flags → one validated CreateSpec (Complete/Validate): names,
// env names, ConfigMap references, image and cron, before anything is written.
import type { V1EnvVar } from '@kubernetes/client-node';
import { UsageError } from '../errors.ts';
import { validateName } from '../kube/names.ts';
import { parseEnvFlags } from '../destination/destination.ts';
import { tuningEnv } from '../destination/profiles.ts';
import { validateSchedule } from './cron.ts';
import type { CreateSpec, ImageSpec } from './resources.ts';

export interface CreateFlags {
  name: string;
  pvc: string;
  secret: string;
  'timestamp-prefix': boolean;
  'delete-clone-after': boolean;
  env: string[];
  'env-from-configmap': string[];
  'env-from-secret': string[];
  image?: string;
  'pull-policy'?: string;
  schedule?: string;
  suspend: boolean;
  'keep-successful': number;
  'keep-failed': number;
  profile?: string;
  bwlimit?: string;
  'insecure-skip-tls-verify'?: boolean;
}

function parseRefs(values: string[], flag: string, kind: 'configMapKeyRef' | 'secretKeyRef'): V1EnvVar[] {
  return values.map((value) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([a-z0-9][-a-z0-9.]*):(.+)$/.exec(value);
    if (!match)
      throw new UsageError(
        `${flag} "${value}" is not NAME=OBJECT:KEY`,
        `e.g. ${flag} RCLONE_TRANSFERS=rclone-tuning:transfers`,
      );
    return { name: match[1]!, valueFrom: { [kind]: { name: match[2]!, key: match[3]! } } };
  });
}

export function parseImage(image: string | undefined, pullPolicy: string | undefined): ImageSpec | undefined {
  if (!image && !pullPolicy) return undefined;
  const spec: ImageSpec = {};
  if (image) {
    const match = /^([^@\s]+?)(?::([\w][\w.-]{0,127}))?$/.exec(image);
    if (!match || match[1]!.endsWith('/'))
      throw new UsageError(
        `--image "${image}" is not REPOSITORY[:TAG]`,
        'e.g. --image ghcr.io/qjoly/datamover-rclone:v1.2.0',
      );
    spec.repository = match[1]!;
    if (match[2]) spec.tag = match[2];
  }
  if (pullPolicy) {
    if (!['Always', 'Never', 'IfNotPresent'].includes(pullPolicy))
      throw new UsageError(
        `--pull-policy "${pullPolicy}" is not one of Always, Never, IfNotPresent`,
        'pick one of them',
      );
    spec.pullPolicy = pullPolicy as ImageSpec['pullPolicy'];
  }
  return spec;
}

export function createSpec(flags: CreateFlags, namespace: string): CreateSpec {
  validateName(flags.name, 'the name', flags.schedule ? 52 : 253);
  validateName(flags.pvc, '--pvc');
  validateName(flags.secret, '--secret');
  // The Secret's keys may be given here (the Job's env wins over its envFrom Secret), as the operator's example does.
  const explicit = parseEnvFlags(flags.env.map(String), { storageKeys: true });
  const plain = Object.entries(tuningEnv(flags.profile, flags.bwlimit, explicit)).map(([name, value]) => ({
    name,
    value,
  }));
  const env = [
    ...plain,
    // --insecure-skip-tls-verify maps to rclone's own setting, which the Job's rclone reads from its environment.
    ...(flags['insecure-skip-tls-verify'] ? [{ name: 'RCLONE_NO_CHECK_CERTIFICATE', value: 'true' }] : []),
    ...parseRefs(flags['env-from-configmap'].map(String), '--env-from-configmap', 'configMapKeyRef'),
    ...parseRefs(flags['env-from-secret'].map(String), '--env-from-secret', 'secretKeyRef'),
  ];
  if (env.some((e) => e.name === 'ADD_TIMESTAMP_PREFIX'))
    throw new UsageError(
      'ADD_TIMESTAMP_PREFIX is set by the operator from spec.addTimestampPrefix',
      'use --timestamp-prefix instead of setting ADD_TIMESTAMP_PREFIX',
    );
  const duplicate = env.map((e) => e.name).find((n, i, all) => all.indexOf(n) !== i);
  if (duplicate) throw new UsageError(`the environment variable ${duplicate} is set twice`, 'set each name once');
  for (const flag of ['keep-successful', 'keep-failed'] as const) {
    if (!Number.isInteger(flags[flag]) || flags[flag] < 0)
      throw new UsageError(`--${flag} must be a whole number >= 0`, `e.g. --${flag} 3`);
  }
  let schedule: CreateSpec['schedule'];
  if (flags.schedule !== undefined) {
    schedule = {
      cron: validateSchedule(flags.schedule),
      suspend: flags.suspend,
      keepSuccessful: flags['keep-successful'],
      keepFailed: flags['keep-failed'],
    };
  } else if (flags.suspend) {
    throw new UsageError('--suspend only applies to a schedule', 'add --schedule "CRON", or drop --suspend');
  }
  return {
    name: flags.name,
    namespace,
    pvc: flags.pvc,
    secret: flags.secret,
    timestampPrefix: flags['timestamp-prefix'],
    deleteCloneAfter: flags['delete-clone-after'],
    env,
    image: parseImage(flags.image, flags['pull-policy']),
    schedule,
  };
}
