// Brings the whole bed up or down: the Kubernetes cluster (kwokctl), external-snapshotter's
// snapshot-controller, the provisioner/exec wiring process, the DataMover operator with the job-runner
// (the kubelet of its Job pods) and the S3 servers; writes the env file a plain
// shell can source and the JSON the tests read.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLUSTER_NAME,
  clusterDir,
  OPERATOR_USER,
  REAL_OPERATOR_LABEL,
  SNAPSHOT_CLASSES,
  STORAGE_CLASSES,
  datamoverCrdFiles,
  createCluster,
  deleteCluster,
  installBusybox,
  kubectl,
  seedCluster,
  waitForExec,
} from './cluster.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, operatorBinary, stateDir, statePaths, toolPaths, type StatePaths } from './paths.ts';
import { freePort, isAlive, readPid, startDetached, stopAll, waitForPort } from './processes.ts';
import { startS3, type S3Server } from './s3.ts';

export interface Bed {
  dir: string;
  kubeconfig: string;
  context: string;
  storageClasses: typeof STORAGE_CLASSES;
  /** The VolumeSnapshotClasses of the CSI driver (its default one, and one that is never ready). */
  snapshotClasses: typeof SNAPSHOT_CLASSES;
  volumesDir: string;
  s3: S3Server;
  /** A Prometheus Pushgateway on 127.0.0.1. */
  pushgateway: string;
  kubectl: string;
  rcloneNew: string;
  /** The DataMover CRD files installed (the operator's own when its source is at hand). */
  datamoverCrds: string[];
  /**
   * The real DataMover operator, acting in namespaces labelled `namespaceLabel` (=real), where the
   * job-runner runs its Job pods; or why it is not running.
   */
  operator: { binary: string; log: string; namespaceLabel: string } | { missing: string };
}

export function readBed(dir = stateDir()): Bed | undefined {
  const paths = statePaths(dir);
  if (!existsSync(paths.bedJson)) return undefined;
  const bed = JSON.parse(readFileSync(paths.bedJson, 'utf8')) as Bed;
  const provisioner = readPid(paths, 'provisioner');
  return provisioner && isAlive(provisioner) ? bed : undefined;
}

export async function up(log: (line: string) => void = () => {}): Promise<Bed> {
  const paths = statePaths();
  await down(); // a clean start, even after a crash
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const tools = toolPaths();
  const started = Date.now();
  installBusybox(paths);
  log(
    'starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler ' +
      'and kwok-controller (kwokctl, binary runtime)',
  );
  createCluster(paths);
  // What a kubelet does for the control plane's static pods: start them again when they exit.
  startDetached(paths, 'static-pods', process.execPath, [
    join(REPO_ROOT, 'tests', 'testbed', 'static-pods.ts'),
    paths.dir,
  ]);
  log('adding the simulated node, the StorageClasses and the DataMover CRDs');
  seedCluster(paths);
  log('starting the snapshot-controller (external-snapshotter)');
  await startSnapshotController(paths);
  log("starting the provisioner (and the CSI driver's snapshotter) and pod exec wiring");
  startDetached(paths, 'provisioner', process.execPath, [
    join(REPO_ROOT, 'tests', 'testbed', 'provisioner.ts'),
    paths.dir,
  ]);
  await waitForExec(paths);
  log("starting the job-runner (the kubelet of the operator's Job pods and of rclone servers)");
  startDetached(paths, 'job-runner', process.execPath, [
    join(REPO_ROOT, 'tests', 'testbed', 'job-runner.ts'),
    paths.dir,
  ]);
  const operator = await startOperator(paths, log);
  log('starting the S3 servers (rclone serve s3, HTTP and HTTPS)');
  const s3 = await startS3(paths, tools.rcloneNew);
  log('starting the Prometheus Pushgateway');
  const pushgatewayPort = await freePort();
  startDetached(paths, 'pushgateway', tools.pushgateway, [
    `--web.listen-address=127.0.0.1:${pushgatewayPort}`,
    '--log.level=warn',
  ]);
  await waitForPort(pushgatewayPort, 15_000, 'pushgateway');
  const bed: Bed = {
    dir: paths.dir,
    kubeconfig: paths.kubeconfig,
    context: `kwok-${CLUSTER_NAME}`,
    storageClasses: STORAGE_CLASSES,
    snapshotClasses: SNAPSHOT_CLASSES,
    volumesDir: paths.volumes,
    s3,
    pushgateway: `http://127.0.0.1:${pushgatewayPort}`,
    kubectl: join(tools.k8sBin, 'kubectl'),
    rcloneNew: tools.rcloneNew,
    datamoverCrds: datamoverCrdFiles(),
    operator,
  };
  writeFileSync(paths.bedJson, JSON.stringify(bed, null, 2), { mode: 0o600 });
  writeFileSync(paths.envFile, envFile(bed, paths), { mode: 0o600 });
  log(`bed is up in ${((Date.now() - started) / 1000).toFixed(1)}s; run: source ${paths.envFile}`);
  return bed;
}

/**
 * The snapshot-controller of external-snapshotter, outside the cluster with the bed's admin
 * kubeconfig: one replica, so no leader election.
 */
async function startSnapshotController(paths: StatePaths): Promise<void> {
  startDetached(paths, 'snapshot-controller', toolPaths().snapshotController, [
    `--kubeconfig=${paths.kubeconfig}`,
    '--leader-election=false',
    // The bed has no VolumeGroupSnapshot CRDs: without this the controller looks for them for 30 s first.
    '--feature-gates=CSIVolumeGroupSnapshot=false',
    '--v=3',
  ]);
  const logFile = join(paths.logs, 'snapshot-controller.log');
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if (text.includes('Starting snapshot controller')) return;
    const pid = readPid(paths, 'snapshot-controller');
    if (!pid || !isAlive(pid) || Date.now() > deadline)
      throw new Error(`the snapshot-controller did not start; its log (${logFile}):\n${text.slice(-2000)}`);
  }
}

/**
 * Starts the operator's manager (outside the cluster, no leader election, no metrics or probe
 * servers) as its own user (the job-runner runs its Job pods).
 */
async function startOperator(paths: StatePaths, log: (line: string) => void): Promise<Bed['operator']> {
  const binary = operatorBinary();
  if ('missing' in binary) {
    log(`not starting the DataMover operator: ${binary.missing}`);
    return binary;
  }
  log('starting the DataMover operator');
  // The bed's admin kubeconfig, impersonating the operator's user: the API server tells its
  // requests apart, so that it acts only in the namespaces labelled for it.
  const config = JSON.parse(kubectl(paths, ['config', 'view', '--raw', '--flatten', '-o', 'json']));
  for (const user of config.users) Object.assign(user.user, { as: OPERATOR_USER, 'as-groups': ['system:masters'] });
  writeFileSync(paths.operatorKubeconfig, JSON.stringify(config, null, 2), { mode: 0o600 });
  startDetached(paths, 'operator', binary.path, [
    '--kubeconfig',
    paths.operatorKubeconfig,
    '--metrics-bind-address=0',
    '--health-probe-bind-address=0',
  ]);
  const operatorLog = join(paths.logs, 'operator.log');
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    const text = existsSync(operatorLog) ? readFileSync(operatorLog, 'utf8') : '';
    if ((text.match(/Starting workers/g) ?? []).length >= 2) break;
    const pid = readPid(paths, 'operator');
    if (!pid || !isAlive(pid) || Date.now() > deadline)
      throw new Error(`the DataMover operator did not start; its log (${operatorLog}):\n${text.slice(-2000)}`);
  }
  return { binary: binary.path, log: operatorLog, namespaceLabel: REAL_OPERATOR_LABEL };
}

export async function down(log: (line: string) => void = () => {}): Promise<void> {
  const paths = statePaths();
  if (!existsSync(paths.dir)) return;
  await stopAll(paths);
  try {
    deleteCluster(paths);
  } catch (err) {
    log(`kwokctl delete cluster failed (${(err as Error).message.split('\n')[0]}); stopping its processes by pid`);
  }
  await stopAll({ pids: join(clusterDir(paths), 'pids'), logs: paths.logs });
  rmSync(paths.dir, { recursive: true, force: true });
  log('bed is down');
}

// The env file's rclone, a shell function (so the user's other tools keep AWS_CA_BUNDLE); the same
// hand-over as the plugin's (rcloneEnv in lib/rclone/run.ts).
const RCLONE_WRAPPER = `# rclone up to at least 1.60 (Debian's) fails every S3 request (LoadCustomCABundleError) when
# AWS_CA_BUNDLE is set: in this shell rclone gets it as its own RCLONE_CA_CERT instead, as the plugin
# hands it over, and other tools keep AWS_CA_BUNDLE.
rclone() {
  if [ -n "\${AWS_CA_BUNDLE:-}" ]; then
    env -u AWS_CA_BUNDLE RCLONE_CA_CERT="\${RCLONE_CA_CERT:-$AWS_CA_BUNDLE}" rclone "$@"
  else
    command rclone "$@"
  fi
}
`;

function envFile(bed: Bed, paths: StatePaths): string {
  const lines: Record<string, string> = {
    KUBECONFIG: bed.kubeconfig,
    DATAMOVER_TESTBED_DIR: paths.dir,
    DATAMOVER_STORAGE_CLASS: bed.storageClasses.local,
    DATAMOVER_VOLUMES_DIR: bed.volumesDir,
    S3_ENDPOINT: bed.s3.endpoint,
    S3_TLS_ENDPOINT: bed.s3.tlsEndpoint,
    S3_CA_FILE: bed.s3.caFile,
    PUSHGATEWAY_URL: bed.pushgateway,
    S3_BUCKET: bed.s3.bucket,
    S3_DATA_DIR: bed.s3.dataDir,
    AWS_ACCESS_KEY_ID: bed.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: bed.s3.secretAccessKey,
    AWS_REGION: bed.s3.region,
    // An rclone remote named "testbed:" for trying things by hand: rclone lsd testbed:
    RCLONE_CONFIG_TESTBED_TYPE: 's3',
    RCLONE_CONFIG_TESTBED_PROVIDER: 'Other',
    RCLONE_CONFIG_TESTBED_ENDPOINT: bed.s3.endpoint,
    RCLONE_CONFIG_TESTBED_ACCESS_KEY_ID: bed.s3.accessKeyId,
    RCLONE_CONFIG_TESTBED_SECRET_ACCESS_KEY: bed.s3.secretAccessKey,
    RCLONE_CONFIG_TESTBED_FORCE_PATH_STYLE: 'true',
  };
  const exports = Object.entries(lines).map(([key, value]) => `export ${key}='${value}'`);
  // kubectl and kubectl-datamover (from this checkout) on PATH, so "kubectl datamover" works; and the
  // Node 24 that setup installed when the system's was too old (scripts/env.sh), which the plugin's
  // checkout runs on: a shell whose node is 20 gets it first.
  const nodeBin = join(process.env.DATAMOVER_NODE_DIR ?? '/nonexistent', 'bin');
  const path = [join(REPO_ROOT, 'bin'), toolPaths().k8sBin];
  if (existsSync(join(nodeBin, 'node'))) path.unshift(nodeBin);
  exports.push(`export PATH='${path.join(':')}':"$PATH"`);
  return `# kubectl-datamover test bed; source this file from a shell\n${exports.join('\n')}\n${RCLONE_WRAPPER}`;
}

export { kubectl };
