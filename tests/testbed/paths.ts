// Where the test bed keeps its state, and where the built tools are. The tool
// locations come from scripts/env.sh (npm scripts run through it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through "npm run testbed" (scripts/run.sh sets it)`);
  return value;
}

export function toolPaths() {
  return {
    k8sBin: required('DATAMOVER_K8S_BIN'),
    etcd: join(required('DATAMOVER_ETCD_BIN'), 'etcd'),
    kwokBin: required('DATAMOVER_KWOK_BIN'),
    kwokStages: required('DATAMOVER_KWOK_STAGES'),
    rcloneNew: required('DATAMOVER_RCLONE_NEW'),
    pushgateway: required('DATAMOVER_PUSHGATEWAY'),
    prom2json: required('DATAMOVER_PROM2JSON'),
    snapshotController: required('DATAMOVER_SNAPSHOT_CONTROLLER'),
  };
}

/**
 * The VolumeSnapshot CRDs of external-snapshotter's pinned release, where they are in the Go module
 * cache (tests/testbed/build-tools.sh snapshot-crds; fetched again if that cache was cleaned).
 */
export function snapshotCrdDir(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'tests', 'testbed', 'build-tools.sh'), 'snapshot-crds'], {
    encoding: 'utf8',
  }).trim();
}

/** A checkout of the DataMover operator's source (DATAMOVER_OPERATOR_SRC, default ../shared/datamover-operator). */
export function operatorSource(): string {
  return resolve(process.env.DATAMOVER_OPERATOR_SRC || join(REPO_ROOT, '..', 'shared', 'datamover-operator'));
}

/**
 * The operator's manager built from that source (tests/testbed/build-tools.sh operator), or why
 * there is none.
 */
export function operatorBinary(): { path: string } | { missing: string } {
  const src = operatorSource();
  if (!existsSync(join(src, 'go.mod')))
    return { missing: `no DataMover operator source at ${src} (set DATAMOVER_OPERATOR_SRC to a checkout of it)` };
  const path = execFileSync('bash', [join(REPO_ROOT, 'tests', 'testbed', 'build-tools.sh'), 'operator-bin'], {
    encoding: 'utf8',
    env: { ...process.env, DATAMOVER_OPERATOR_SRC: src },
  }).trim();
  if (!existsSync(path))
    return {
      missing: `the DataMover operator is not built from ${src}: run bash tests/testbed/build-tools.sh operator`,
    };
  return { path };
}

/** The operator's Job entrypoint (its image's ENTRYPOINT, dataMoverImage/entrypoint.sh). */
export function operatorEntrypoint(): string {
  return join(operatorSource(), 'dataMoverImage', 'entrypoint.sh');
}

export function stateDir(): string {
  return resolve(process.env.DATAMOVER_TESTBED_DIR || join(REPO_ROOT, '.testbed'));
}

export function statePaths(dir = stateDir()) {
  return {
    dir,
    kubeconfig: join(dir, 'kubeconfig'),
    kwokWorkdir: join(dir, 'kwok'),
    kwokConfig: join(dir, 'kwokctl.yaml'),
    busybox: join(dir, 'busybox-bin'),
    volumes: join(dir, 'volumes'),
    /** The csi-folder driver's snapshots: one folder per snapshot handle. */
    snapshots: join(dir, 'snapshots'),
    scratch: join(dir, 'pods'),
    s3Data: join(dir, 's3'),
    tls: join(dir, 'tls'),
    logs: join(dir, 'logs'),
    pids: join(dir, 'pids'),
    envFile: join(dir, 'env'),
    bedJson: join(dir, 'bed.json'),
    operatorKubeconfig: join(dir, 'operator.kubeconfig'),
    podLogs: join(dir, 'pod-logs'),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;

/** PATH as it was before scripts/env.sh (run.sh) prepended the project's directories to it. */
export function systemPath(env: NodeJS.ProcessEnv = process.env): string {
  const added = new Set(
    [
      env.DATAMOVER_NODE_DIR && join(env.DATAMOVER_NODE_DIR, 'bin'),
      join(REPO_ROOT, 'bin'),
      join(REPO_ROOT, 'node_modules', '.bin'),
      env.DATAMOVER_K8S_BIN,
    ].filter(Boolean),
  );
  return (env.PATH ?? '')
    .split(':')
    .filter((dir) => dir && !added.has(dir))
    .join(':');
}
