// What each mode needs from the API server, in one place: the preflights ask
// for their part, `check-access` for a whole mode, and docs/rbac.yaml grants
// exactly this (a test keeps them in step).
import type { Permission } from './access.ts';

const pvc = (verb: string): Permission => ({ verb, resource: 'persistentvolumeclaims' });
const pods = (verb: string): Permission => ({ verb, resource: 'pods' });

// Exec over a WebSocket starts as a GET: the API server wants both verbs on pods/exec.
const exec: Permission[] = ['create', 'get'].map((verb) => ({ verb, resource: 'pods', subresource: 'exec' }));

export const LOCAL_BACKUP: Permission[] = [
  pvc('get'),
  pvc('create'),
  pvc('delete'),
  pvc('patch'),
  pods('create'),
  pods('get'),
  pods('delete'),
  // Where a ReadWriteOnce volume in use is attached (backup --no-clone), so that the helper runs there.
  pods('list'),
  ...exec,
];

const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
const snapshots = (verb: string): Permission => ({ verb, resource: 'volumesnapshots', group: SNAPSHOT_GROUP });
const snapshotClasses = (verb: string): Permission => ({
  verb,
  resource: 'volumesnapshotclasses',
  group: SNAPSHOT_GROUP,
  cluster: true,
});

/** backup --source snapshot: take a VolumeSnapshot (and delete it), after picking its class. */
export const SNAPSHOT_SOURCE: Permission[] = [
  snapshots('create'),
  snapshots('get'),
  snapshots('delete'),
  snapshotClasses('get'),
  snapshotClasses('list'),
];

/** backup --from-snapshot: read the existing VolumeSnapshot (never deleted). */
export const EXISTING_SNAPSHOT: Permission[] = [snapshots('get')];

/** backup --transport port-forward: a local port to the helper pod's server (a GET upgraded, as exec). */
export const PORT_FORWARD: Permission[] = ['create', 'get'].map((verb) => ({
  verb,
  resource: 'pods',
  subresource: 'portforward',
}));

/** Reading the storage Secret (not needed with --remote). */
export const READ_SECRET: Permission = { verb: 'get', resource: 'secrets' };

export const LOCAL_RESTORE: Permission[] = [
  pvc('get'),
  pvc('patch'),
  pods('create'),
  pods('get'),
  pods('delete'),
  pods('list'),
  ...exec,
];

/**
 * Every local-mode command: backup (--source snapshot too), restore (with --create), verify --against-pvc,
 * and reading the storage Secret.
 */
export const LOCAL_MODE: Permission[] = [
  ...LOCAL_BACKUP,
  READ_SECRET,
  // Why a clone does not bind is in its events.
  { verb: 'list', resource: 'events' },
  ...SNAPSHOT_SOURCE.map((p) => ({ ...p, onlyFor: '--source snapshot' })),
  ...PORT_FORWARD.map((p) => ({ ...p, onlyFor: '--transport port-forward' })),
];

const CUSTOM_RESOURCES = ['datamovers', 'datamoverschedules'];
export const OPERATOR_MODE: Permission[] = [
  ...CUSTOM_RESOURCES.flatMap((resource) =>
    ['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({
      verb,
      resource,
      group: 'datamover.a-cup-of.coffee',
    })),
  ),
  pvc('get'),
  pvc('list'),
  // delete --delete-clone removes the clone the operator leaves behind.
  pvc('delete'),
  READ_SECRET,
  { verb: 'get', resource: 'configmaps' },
  { verb: 'get', resource: 'jobs', group: 'batch' },
  { verb: 'list', resource: 'jobs', group: 'batch' },
  // delete removes the operator's Job, which has no owner (its pods go with it).
  { verb: 'delete', resource: 'jobs', group: 'batch' },
  pods('get'),
  pods('list'),
  { verb: 'get', resource: 'pods', subresource: 'log' },
  { verb: 'list', resource: 'events' },
];

export const MODES = { local: LOCAL_MODE, operator: OPERATOR_MODE } as const;
export type Mode = keyof typeof MODES;
