// What both benchmarks need of the bed: the bed (brought up when none runs), an environment where kubectl
// and the plugin talk to it, a bound PVC whose folder they fill directly, and a Secret for its S3 server.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { down, readBed, up, type Bed } from '../tests/testbed/bed.ts';
import { REPO_ROOT } from '../tests/testbed/paths.ts';

type Kubectl = (args: string[], input?: string) => Promise<{ stdout: string }>;

/** The bed, a fresh namespace name, kubectl on it, and `close()` to take down a bed brought up here. */
export async function benchBed(prefix: string) {
  const startedHere = !readBed();
  const bed = readBed() ?? (await up((l) => process.stderr.write(`[testbed] ${l}\n`)));
  const env = {
    ...process.env,
    KUBECONFIG: bed.kubeconfig,
    PATH: `${join(REPO_ROOT, 'bin')}:${join(bed.kubectl, '..')}:${process.env.PATH}`,
  };
  const kubectl = (args: string[], input?: string) => execa('kubectl', args, { env, input });
  const ns = `${prefix}-${randomBytes(2).toString('hex')}`;
  const close = async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    if (startedHere) await down();
  };
  return { bed, env, kubectl, ns, close };
}

/** PVC `name` in `ns`, once Bound; the host folder that holds its data. */
export async function benchVolume(kubectl: Kubectl, ns: string, name: string, size = '20Gi'): Promise<string> {
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      `metadata: {name: ${name}}`,
      `spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: ${size}}}}`,
      '',
    ].join('\n'),
  );
  await kubectl(['wait', '-n', ns, '--for=jsonpath={.status.phase}=Bound', `pvc/${name}`]);
  const pv = (await kubectl(['get', 'pvc', name, '-n', ns, '-o', 'jsonpath={.spec.volumeName}'])).stdout;
  return (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).stdout;
}

/** Secret `name` in `ns` for `bucket` on the bed's S3 server (plain HTTP). */
export async function benchSecret(kubectl: Kubectl, bed: Bed, ns: string, name: string, bucket: string) {
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    [
      'apiVersion: v1',
      'kind: Secret',
      `metadata: {name: ${name}}`,
      `stringData: {AWS_ACCESS_KEY_ID: "${bed.s3.accessKeyId}", AWS_SECRET_ACCESS_KEY: "${bed.s3.secretAccessKey}",` +
        ` BUCKET_HOST: 127.0.0.1, BUCKET_PORT: "${bed.s3.port}", BUCKET_NAME: ${bucket}, TLS_HOST: "false"}`,
      '',
    ].join('\n'),
  );
}

/**
 * The plugin as the npm package runs it (bin/ and the bundle in dist/, no node_modules), in a folder of its
 * own: a checkout's bin/ loads ~1,200 modules of TypeScript sources and node_modules, about 50 MB more
 * than the bundle. Returns the path of its bin/kubectl-datamover.
 */
export async function installedPlugin(): Promise<string> {
  await execa('bash', [join(REPO_ROOT, 'scripts', 'build.sh')]);
  const root = mkdtempSync(join(tmpdir(), 'bench-plugin-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(REPO_ROOT, 'bin', 'kubectl-datamover'), join(root, 'bin', 'kubectl-datamover'));
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'dist'), join(root, 'dist'));
  return join(root, 'bin', 'kubectl-datamover');
}
