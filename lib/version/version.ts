// `kubectl datamover version`: the plugin's version, and the server's when reachable.
import { VersionApi } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { BUILD_COMMIT, PLUGIN_VERSION } from './build-info.ts';

export interface VersionInfo {
  clientVersion: { version: string; gitCommit: string; nodeVersion: string; platform: string };
  serverVersion?: { gitVersion: string; platform: string };
}

export function clientVersion(): VersionInfo['clientVersion'] {
  return {
    version: `v${PLUGIN_VERSION}`,
    gitCommit: BUILD_COMMIT,
    nodeVersion: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

export async function serverVersion(kube: KubeConnection): Promise<NonNullable<VersionInfo['serverVersion']>> {
  const api = kube.config.makeApiClient(VersionApi);
  const info = await kube.call({ verb: 'get', resource: 'version' }, () => api.getCode());
  return { gitVersion: info.gitVersion, platform: info.platform };
}

export function renderVersionText(info: VersionInfo): string {
  const lines = [
    `Plugin Version: ${info.clientVersion.version} (commit ${info.clientVersion.gitCommit}, ` +
      `node ${info.clientVersion.nodeVersion}, ${info.clientVersion.platform})`,
  ];
  if (info.serverVersion) lines.push(`Server Version: ${info.serverVersion.gitVersion}`);
  return `${lines.join('\n')}\n`;
}

/** Raised after the client version was printed, when the server could not be asked. */
export function serverUnreachable(cause: unknown): UserError {
  if (cause instanceof UserError) return cause;
  return new UserError('could not get the server version', 'check the connection, or pass --client', { cause });
}
