// Opening a destination: the local rclone found, the Secret or remote resolved
// (with the crypt layer on --encrypt), as the rclone context every store call takes.
import type { KubeConnection } from '../kube/connection.ts';
import type { DestinationOptions } from '../destination/options.ts';
import { resolveDestination } from '../destination/resolve.ts';
import { findRclone } from '../rclone/binary.ts';
import type { RcloneContext } from '../rclone/run.ts';

export interface OpenedStore {
  rclone: RcloneContext;
  rcloneVersion: string;
}

/** `kube` is needed only when a Secret is read (--secret, --password-secret). */
export async function openStore(
  kube: KubeConnection | undefined,
  options: DestinationOptions,
  runtime: { verbosity: number; signal?: AbortSignal },
): Promise<OpenedStore> {
  const binary = await findRclone(options.rclonePath);
  const destination = await resolveDestination(kube, kube?.namespace ?? '', {
    ...options,
    rclonePath: binary.path,
  });
  return {
    rclone: { binary: binary.path, destination, extraEnv: options.extraEnv, ...runtime },
    rcloneVersion: binary.version,
  };
}

/** Whether opening the store reads a Secret from the cluster. */
export function needsCluster(options: DestinationOptions): boolean {
  return Boolean(options.secret || options.passwordSecret);
}
