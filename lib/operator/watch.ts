// Following DataMovers through the API's watch, as kubectl get --watch does: every change, in
// order. A poll would miss the operator's shortest phases (it leaves ClonedPVCReady within
// milliseconds, CleaningUp as soon as the clone is deleted).
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { describeApiError, type ApiAction } from '../kube/api-errors.ts';
import { UserError } from '../errors.ts';
import { listObjectsAt } from './api.ts';
import { DATAMOVERS, type DataMover } from './resources.ts';

export type MoverChange = 'ADDED' | 'MODIFIED' | 'DELETED';
/** Called for each DataMover as listed, then for each change; returning true ends the following. */
export type OnMoverChange = (type: MoverChange, mover: DataMover) => Promise<boolean>;

type WatchEnd = 'done' | 'closed' | 'expired' | 'broken';

/**
 * Follows the DataMovers of `namespace` (undefined: every namespace), or the one named `name`:
 * lists them, then watches from the list's version. A watch the server (or the client's
 * inactivity timeout) closes resumes from the last version seen; one whose version expired
 * (410 Gone) or whose connection failed starts again from a list.
 */
export async function followMovers(
  kube: KubeConnection,
  namespace: string | undefined,
  name: string | undefined,
  onChange: OnMoverChange,
): Promise<void> {
  for (;;) {
    const list = await listObjectsAt<DataMover>(kube, DATAMOVERS, namespace);
    const movers = list.items.filter((m) => !name || m.metadata.name === name);
    if (name && !movers.length)
      throw new UserError(
        `DataMover "${name}" not found in namespace "${namespace ?? kube.namespace}"`,
        'check the name and the namespace (-n)',
      );
    for (const mover of movers) if (await onChange('ADDED', mover)) return;
    const version = { current: list.resourceVersion };
    for (;;) {
      const end = await watchOnce(kube, namespace, name, version, onChange);
      if (end === 'done') return;
      if (end === 'expired') break;
      // The connection failed: list again (that request retries, and says why when it gives up).
      if (end === 'broken') {
        await sleep(1000);
        break;
      }
    }
  }
}

/** One watch request from `version.current`, which it advances as events arrive. */
function watchOnce(
  kube: KubeConnection,
  namespace: string | undefined,
  name: string | undefined,
  version: { current: string },
  onChange: OnMoverChange,
): Promise<WatchEnd> {
  const { group, version: apiVersion, plural } = DATAMOVERS;
  const path = `/apis/${group}/${apiVersion}/${namespace ? `namespaces/${namespace}/` : ''}${plural}`;
  const query = {
    resourceVersion: version.current,
    allowWatchBookmarks: true,
    fieldSelector: name ? `metadata.name=${name}` : undefined,
  };
  return new Promise<WatchEnd>((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    // Events are handled one at a time, in the order they came.
    let handled = Promise.resolve();
    const settle = (end: () => void) => {
      if (settled) return;
      settled = true;
      controller?.abort();
      end();
    };
    const onEvent = (type: string, object: DataMover & { code?: number }) => {
      handled = handled
        .then(async () => {
          if (settled) return;
          if (type === 'ERROR') {
            if (object.code === 410) return settle(() => resolve('expired'));
            throw Object.assign(new Error(String((object as { message?: string }).message)), { code: object.code });
          }
          version.current = object.metadata?.resourceVersion ?? version.current;
          if (type === 'BOOKMARK') return;
          if (await onChange(type as MoverChange, object)) settle(() => resolve('done'));
        })
        .catch((err: unknown) => settle(() => reject(describeApiError(err, watchAction(namespace, name)))));
    };
    const onDone = (err: unknown) => {
      void handled.then(() => {
        const status = (err as { statusCode?: number } | null)?.statusCode;
        if (status !== undefined) {
          const failure = Object.assign(new Error((err as Error).message), { code: status });
          return settle(() => reject(describeApiError(failure, watchAction(namespace, name))));
        }
        // The server closed it, or nothing came for a while (the client's timeout): watch again from where it was.
        const quiet = !err || (err as Error).name === 'TimeoutError';
        settle(() => resolve(quiet ? 'closed' : 'broken'));
      });
    };
    new Watch(kube.config).watch(path, query, onEvent, onDone).then(
      (started) => {
        controller = started;
        if (settled) started.abort();
      },
      (err: unknown) => settle(() => reject(describeApiError(err, watchAction(namespace, name)))),
    );
  });
}

function watchAction(namespace: string | undefined, name: string | undefined): ApiAction {
  return { verb: 'watch', resource: `${DATAMOVERS.plural}.${DATAMOVERS.group}`, namespace, name };
}
