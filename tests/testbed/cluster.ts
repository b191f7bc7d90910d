// The bed's Kubernetes: kwokctl's binary runtime running the locally built
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok-controller on 127.0.0.1, with its own kubeconfig, plus two simulated
// nodes, the test StorageClasses, the DataMover CRDs (the operator's own when
// its source is at hand) and the VolumeSnapshot CRDs with the CSI driver's classes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatePaths } from './paths.ts';
import { hostCommand, linkBusyboxApplets } from './busybox-applets.ts';
import { operatorSource, snapshotCrdDir, toolPaths } from './paths.ts';

export const CLUSTER_NAME = 'datamover-testbed';

/** kwokctl's folder of the bed's cluster: its processes' pid files in pids/, their logs in logs/. */
export function clusterDir(paths: StatePaths): string {
  return join(paths.kwokWorkdir, 'clusters', CLUSTER_NAME);
}
export const NODE_NAME = 'kwok-node-0';
/**
 * The second node. Its PreferNoSchedule taint makes the scheduler place a pod there only when the pod
 * asks for it (nodeSelector, affinity) or the first node cannot take it: tests stay deterministic, and
 * a test that needs two nodes puts its pod there on purpose.
 */
export const SECOND_NODE_NAME = 'kwok-node-1';
export const SECOND_NODE_TAINT = 'testbed.datamover.a-cup-of.coffee/second-node';
export const PROVISIONER = 'testbed.datamover.a-cup-of.coffee/local-folder';
/**
 * The bed's CSI driver (the same provisioner process): its PVs are CSI volumes, which the
 * snapshot-controller can snapshot (it refuses any other kind); the provisioner also plays its
 * csi-snapshotter sidecar (tests/testbed/snapshotter.ts). Volumes of PROVISIONER are hostPath PVs,
 * like in-tree volumes: no snapshot of them can be taken.
 */
export const CSI_DRIVER = 'csi-folder.testbed.datamover.a-cup-of.coffee';
/**
 * Every new pod is held by this scheduling gate (a MutatingAdmissionPolicy adds
 * it) until the provisioner has written its kwok Exec: without it, kwok could
 * report the pod Running before exec into it works, which a kubelet never does.
 */
export const EXEC_WIRING_GATE = 'testbed.datamover.a-cup-of.coffee/exec-wiring';
/**
 * The real operator acts only in namespaces with this label (a ValidatingAdmissionPolicy refuses its
 * writes elsewhere), so that tests of what create writes see it as written; in those
 * namespaces the bed's job-runner is the kubelet of the operator's Job pods.
 */
export const REAL_OPERATOR_LABEL = 'testbed.datamover.a-cup-of.coffee/operator';
/** Who the operator is to the API server (its kubeconfig impersonates this user). */
export const OPERATOR_USER = 'testbed:datamover-operator';
/** The image of the operator's Job (its Dockerfile: dataMoverImage/, ENTRYPOINT /entrypoint.sh). */
export const OPERATOR_IMAGE_PREFIX = 'ghcr.io/qjoly/datamover-rclone:';
/** rclone's own image: a pod of it that declares ports is a server the job-runner runs (port-forward reaches it). */
export const RCLONE_IMAGE_PREFIX = 'docker.io/rclone/rclone:';
/**
 * Pods that the job-runner runs carry this label (a MutatingAdmissionPolicy sets it at creation):
 * kwok's pod-ready and pod-complete stages leave them alone, the job-runner writes their status.
 */
export const JOB_RUNNER_LABEL = 'testbed.datamover.a-cup-of.coffee/kubelet';
/**
 * A pod that a kubelet would not start (yet) carries this label, its value saying why (ErrImagePull,
 * CreateContainerConfigError, or ExecNotWired for a pod scheduled before its exec could be wired): kwok's
 * pod-ready stage leaves it alone, and the provisioner writes its container status (tests/testbed/kubelet-checks.ts).
 */
export const HELD_LABEL = 'testbed.datamover.a-cup-of.coffee/held';
/**
 * The images the node has (and can pull again): what the tests and the plugin use by default. Any other
 * image is ErrImagePull, as on a node that cannot reach its registry.
 */
export const NODE_IMAGES = [
  'docker.io/library/busybox:latest', // the tests' own pods ("busybox")
  'docker.io/library/busybox:1.37', // the helper pod of backup, restore and verify (DEFAULT_HELPER_IMAGE)
  `${OPERATOR_IMAGE_PREFIX}latest`, // the operator's Job (its CRD's default) and check --in-cluster's default
  // rclone's own image at the bed's rclone version: check --in-cluster --image, backup --transport port-forward
  `${RCLONE_IMAGE_PREFIX}1.76`,
];

/** The DataMover CRDs the bed installs: the operator's own (config/crd/bases/), never a copy of them. */
export function datamoverCrdFiles(): string[] {
  const bases = join(operatorSource(), 'config', 'crd', 'bases');
  if (!existsSync(bases))
    throw new Error(
      `no DataMover operator CRDs at ${bases}: put the operator's source at ../shared/datamover-operator ` +
        '(or set DATAMOVER_OPERATOR_SRC to a checkout of it)',
    );
  return readdirSync(bases)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(bases, f));
}

export const STORAGE_CLASSES = {
  /** Binds at once; clones copy the source folder (what a CSI driver's clone does). */
  local: 'datamover-local',
  /** Binds plain PVCs, refuses clones (a driver without the clone capability). */
  noClone: 'datamover-noclone',
  /** Served by no provisioner: PVCs stay Pending. */
  pending: 'datamover-pending',
  /** volumeBindingMode WaitForFirstConsumer (GKE's, EKS's default): provisioned once a pod using it is scheduled. */
  waitForConsumer: 'datamover-wffc',
  /** WaitForFirstConsumer, and refuses clones. */
  waitForConsumerNoClone: 'datamover-wffc-noclone',
  /** Fails each claim's first two provisioning attempts (a transient error), then binds it. */
  flaky: 'datamover-flaky',
  /** The CSI driver's volumes: clones, and VolumeSnapshots (SNAPSHOT_CLASSES). */
  csi: 'datamover-csi',
  /** The CSI driver's volumes, refusing clones; snapshots work. */
  csiNoClone: 'datamover-csi-noclone',
};

export const SNAPSHOT_CLASSES = {
  /** The CSI driver's default class: a snapshot is ready once its copy is cut. */
  ready: 'datamover-csi-snapshots',
  /** Snapshots are cut but never become ready to use (a backend that never finishes uploading). */
  neverReady: 'datamover-csi-never-ready',
};

/** The VolumeSnapshot CRDs of external-snapshotter (group snapshots are not enabled). */
const SNAPSHOT_CRDS = ['volumesnapshotclasses', 'volumesnapshotcontents', 'volumesnapshots'];

export function kubectl(paths: StatePaths, args: string[], input?: string): string {
  return execFileSync(join(toolPaths().k8sBin, 'kubectl'), ['--kubeconfig', paths.kubeconfig, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** busybox applets in one folder, first on the PATH of pod-side commands. */
export function installBusybox(paths: StatePaths): void {
  if (existsSync(paths.busybox) && readdirSync(paths.busybox).length > 0) return;
  const busybox = hostCommand('busybox');
  if (!busybox) throw new Error('busybox is not installed (npm run setup installs it)');
  mkdirSync(paths.busybox, { recursive: true });
  linkBusyboxApplets(busybox, paths.busybox);
}

function kwokctl(paths: StatePaths, args: string[]): void {
  const tools = toolPaths();
  execFileSync(join(tools.kwokBin, 'kwokctl'), [...args, '--name', CLUSTER_NAME, '--kubeconfig', paths.kubeconfig], {
    // kwok-controller inherits this environment, and pod exec inherits it: PATH is
    // where commands are found; the host's AWS_CA_BUNDLE must not reach "pods".
    env: {
      ...process.env,
      AWS_CA_BUNDLE: undefined,
      KWOK_WORKDIR: paths.kwokWorkdir,
      PATH: `${paths.busybox}:${process.env.PATH}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export function createCluster(paths: StatePaths): void {
  const tools = toolPaths();
  writeFileSync(
    paths.kwokConfig,
    `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverBinary: ${join(tools.k8sBin, 'kube-apiserver')}
  kubeControllerManagerBinary: ${join(tools.k8sBin, 'kube-controller-manager')}
  kubeSchedulerBinary: ${join(tools.k8sBin, 'kube-scheduler')}
  kubectlBinary: ${join(tools.k8sBin, 'kubectl')}
  kwokControllerBinary: ${join(tools.kwokBin, 'kwok')}
  etcdBinary: ${tools.etcd}
  kubeAuthorization: true
  kubeAdmission: true
  enableCRDs: [Exec, PortForward, Logs]
${kwokStages()}`,
  );
  kwokctl(paths, ['create', 'cluster', '--config', paths.kwokConfig, '--wait', '3m']);
}

/**
 * kwok's default stages (kwokctl's "fast" ones, from kwok's module), except that pod-ready and
 * pod-complete leave the job-runner's pods alone (kwok would otherwise report an operator's Job pod
 * Running and then Succeeded at once, with nothing run) and the pods the bed holds (HELD_LABEL), and
 * pod-delete leaves the job-runner's pods alone (it removes them once their process has stopped).
 */
function kwokStages(): string {
  const dir = toolPaths().kwokStages;
  const files = ['node-initialize', 'node-heartbeat-with-lease', 'pod-ready', 'pod-complete', 'pod-delete'];
  const notJobRunners = `    - key: '.metadata.labels["${JOB_RUNNER_LABEL}"]'
      operator: 'DoesNotExist'
`;
  const notHeld = `    - key: '.metadata.labels["${HELD_LABEL}"]'
      operator: 'DoesNotExist'
`;
  const leftAlone: Record<string, string> = {
    'pod-ready': notJobRunners + notHeld,
    'pod-complete': notJobRunners + notHeld,
    'pod-delete': notJobRunners,
  };
  return files
    .map((name) => {
      const stage = readFileSync(join(dir, `${name}.yaml`), 'utf8');
      if (!leftAlone[name]) return stage;
      if (!stage.includes('    matchExpressions:\n')) throw new Error(`${name}.yaml: no matchExpressions to extend`);
      return stage.replace('    matchExpressions:\n', `    matchExpressions:\n${leftAlone[name]}`);
    })
    .map((stage) => `---\n${stage.replace(/^---\n/, '').trimEnd()}\n`)
    .join('');
}

export function deleteCluster(paths: StatePaths): void {
  if (!existsSync(clusterDir(paths))) return;
  kwokctl(paths, ['delete', 'cluster']);
}

/** A StorageClass of the bed: reclaimPolicy Delete, Immediate binding unless it waits for its first consumer. */
function storageClass(
  name: string,
  provisioner: string,
  options: { defaultClass?: boolean; waitForConsumer?: boolean; parameters?: Record<string, string> } = {},
): string {
  const parameters = Object.entries(options.parameters ?? {}).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`);
  return [
    'apiVersion: storage.k8s.io/v1\n',
    'kind: StorageClass\n',
    `metadata:\n  name: ${name}\n`,
    options.defaultClass ? '  annotations:\n    storageclass.kubernetes.io/is-default-class: "true"\n' : '',
    `provisioner: ${provisioner}\n`,
    parameters.length ? `parameters:\n${parameters.join('')}` : '',
    'reclaimPolicy: Delete\n',
    `volumeBindingMode: ${options.waitForConsumer ? 'WaitForFirstConsumer' : 'Immediate'}\n`,
    options.defaultClass ? 'allowVolumeExpansion: true\n' : '',
  ]
    .join('')
    .trimEnd();
}

export function seedCluster(paths: StatePaths): void {
  kubectl(
    paths,
    ['apply', '-f', '-'],
    `${node(NODE_NAME)}
---
${node(SECOND_NODE_NAME, `  taints: [{key: ${SECOND_NODE_TAINT}, value: "true", effect: PreferNoSchedule}]\n`)}
---
${storageClass(STORAGE_CLASSES.local, PROVISIONER, { defaultClass: true })}
---
${storageClass(STORAGE_CLASSES.noClone, PROVISIONER, { parameters: { cloning: 'unsupported' } })}
---
${storageClass(STORAGE_CLASSES.pending, 'testbed.datamover.a-cup-of.coffee/nobody')}
---
${storageClass(STORAGE_CLASSES.waitForConsumer, PROVISIONER, { waitForConsumer: true })}
---
${storageClass(STORAGE_CLASSES.waitForConsumerNoClone, PROVISIONER, {
  waitForConsumer: true,
  parameters: { cloning: 'unsupported' },
})}
---
${storageClass(STORAGE_CLASSES.flaky, PROVISIONER, { parameters: { transientFailures: '2' } })}
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: ${CSI_DRIVER}
spec:
  attachRequired: false
  podInfoOnMount: false
  volumeLifecycleModes: [Persistent]
---
${storageClass(STORAGE_CLASSES.csi, CSI_DRIVER)}
---
${storageClass(STORAGE_CLASSES.csiNoClone, CSI_DRIVER, { parameters: { cloning: 'unsupported' } })}
`,
  );
  installSnapshotCrds(paths);
  kubectl(
    paths,
    ['apply', '-f', '-'],
    `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: testbed-exec-wiring-gate
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{spec: Object.spec{schedulingGates: [Object.spec.schedulingGates{name: "${EXEC_WIRING_GATE}"}]}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: testbed-exec-wiring-gate
spec:
  policyName: testbed-exec-wiring-gate
`,
  );
  kubectl(paths, ['apply', '-f', '-'], jobRunnerPolicies());
  for (const crd of datamoverCrdFiles()) kubectl(paths, ['apply', '-f', crd]);
  kubectl(paths, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/datamovers.datamover.a-cup-of.coffee',
    'crd/datamoverschedules.datamover.a-cup-of.coffee',
  ]);
  kubectl(paths, ['wait', '--for=condition=Ready', '--timeout=60s', `node/${NODE_NAME}`, `node/${SECOND_NODE_NAME}`]);
  // The ServiceAccount admission plugin refuses pods until the controller made "default".
  kubectl(paths, ['wait', '--for=create', '--timeout=60s', 'serviceaccount/default', '-n', 'default']);
}

/**
 * The VolumeSnapshot CRDs, from external-snapshotter's module (never copied into the repository), and
 * the CSI driver's VolumeSnapshotClasses.
 */
function installSnapshotCrds(paths: StatePaths): void {
  const dir = snapshotCrdDir();
  kubectl(paths, [
    'apply',
    ...SNAPSHOT_CRDS.flatMap((plural) => ['-f', join(dir, `snapshot.storage.k8s.io_${plural}.yaml`)]),
  ]);
  kubectl(paths, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...SNAPSHOT_CRDS.map((plural) => `crd/${plural}.snapshot.storage.k8s.io`),
  ]);
  kubectl(
    paths,
    ['apply', '-f', '-'],
    `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: ${SNAPSHOT_CLASSES.ready}
  annotations:
    snapshot.storage.kubernetes.io/is-default-class: "true"
driver: ${CSI_DRIVER}
deletionPolicy: Delete
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: ${SNAPSHOT_CLASSES.neverReady}
driver: ${CSI_DRIVER}
deletionPolicy: Delete
parameters:
  readiness: never
`,
  );
}

/** A kwok node (kwok's node stages make it Ready and keep its lease); `spec` is extra spec YAML. */
function node(name: string, spec = ''): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: ${name}
    kubernetes.io/os: linux
    type: kwok
${spec ? `spec:\n${spec}` : ''}status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110"}
  capacity: {cpu: "16", memory: 64Gi, pods: "110"}`;
}

/**
 * Labels the pods the job-runner runs (a Job's pods with the operator's image, in a namespace where
 * the real operator acts), and refuses the operator's writes in every other namespace.
 */
function jobRunnerPolicies(): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: testbed-job-runner
spec:
  matchConstraints:
    namespaceSelector:
      matchLabels: {${REAL_OPERATOR_LABEL}: real}
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  matchConditions:
  - name: operator-job-pod
    expression: >
      object.metadata.?ownerReferences.orValue([]).exists(r, r.kind == "Job") &&
      object.spec.containers.exists(c, c.image.startsWith("${OPERATOR_IMAGE_PREFIX}"))
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{metadata: Object.metadata{labels: {"${JOB_RUNNER_LABEL}": "job-runner"}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: testbed-job-runner
spec:
  policyName: testbed-job-runner
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: testbed-servers
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  matchConditions:
  - name: rclone-server
    expression: >
      object.spec.containers.exists(c, c.image.startsWith("${RCLONE_IMAGE_PREFIX}") &&
      c.?ports.orValue([]).size() > 0)
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{metadata: Object.metadata{labels: {"${JOB_RUNNER_LABEL}": "server"}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: testbed-servers
spec:
  policyName: testbed-servers
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: testbed-operator-scope
spec:
  failurePolicy: Fail
  matchConstraints:
    namespaceSelector:
      matchExpressions: [{key: ${REAL_OPERATOR_LABEL}, operator: NotIn, values: [real]}]
    resourceRules:
    - apiGroups: ["*"]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: ["*/*"]
      scope: Namespaced
  matchConditions:
  - name: operator
    expression: request.userInfo.username == "${OPERATOR_USER}"
  validations:
  - expression: "false"
    message: the test bed's DataMover operator acts only in namespaces labelled ${REAL_OPERATOR_LABEL}=real
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: testbed-operator-scope
spec:
  policyName: testbed-operator-scope
  validationActions: [Deny]
`;
}

/**
 * Waits until the control plane works again after an outage of the API server: the controller-manager
 * (which exits when it loses its lease, and is started again) makes a new namespace's ServiceAccount,
 * the scheduler places a pod and exec into it works.
 */
export async function waitForControlPlane(paths: StatePaths): Promise<void> {
  const namespace = `testbed-probe-${randomBytes(3).toString('hex')}`;
  kubectl(paths, ['create', 'namespace', namespace]);
  // 180 s: after a few outages in a row the controller-manager's watches were seen to take 95 s to come back.
  kubectl(paths, ['wait', '--for=create', '--timeout=180s', 'serviceaccount/default', '-n', namespace]);
  kubectl(paths, ['delete', 'namespace', namespace, '--wait=false']);
  await waitForExec(paths, 90_000);
}

/**
 * Waits until exec into a fresh pod works end to end. kwok-controller's Exec
 * informer backs off when its watch fails (before its CRD is served at start,
 * and while the API server is down), so exec into new pods fails for a while.
 */
export async function waitForExec(paths: StatePaths, timeoutMs = 60_000): Promise<void> {
  const name = `testbed-exec-probe-${randomBytes(3).toString('hex')}`;
  const probe = ['-n', 'kube-system', `pod/${name}`];
  kubectl(
    paths,
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: kube-system}
spec:
  containers: [{name: probe, image: busybox}]
`,
  );
  kubectl(paths, ['wait', '--for=condition=Ready', '--timeout=60s', ...probe]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      kubectl(paths, ['exec', ...probe, '--', 'true']);
      break;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`exec into pods does not work: ${(err as { stderr?: string }).stderr ?? err}`);
      await sleep(250);
    }
  }
  kubectl(paths, ['delete', ...probe, '--wait=false']);
}
