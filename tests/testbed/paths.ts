// Where the test bed keeps its state, and where the built tools are. The tool
// locations come from scripts/env.sh (npm scripts run through it).
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
    rcloneNew: required('DATAMOVER_RCLONE_NEW'),
    pushgateway: required('DATAMOVER_PUSHGATEWAY'),
    prom2json: required('DATAMOVER_PROM2JSON'),
  };
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
    scratch: join(dir, 'pods'),
    s3Data: join(dir, 's3'),
    tls: join(dir, 'tls'),
    logs: join(dir, 'logs'),
    pids: join(dir, 'pids'),
    envFile: join(dir, 'env'),
    bedJson: join(dir, 'bed.json'),
  };
}

export type StatePaths = ReturnType<typeof statePaths>;
