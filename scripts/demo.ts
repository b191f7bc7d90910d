// npm run demo: the main job, end to end, on the bundled test bed. Brings the
// bed up (unless one is running), makes a PVC with sample data, backs it up
// in local mode to the bed's S3 server, changes a file, backs up again (the
// incremental figures), and shows where the objects are. Takes the bed down
// again if it started it (--keep leaves it up).
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { down, readBed, up } from '../tests/testbed/bed.ts';
import { REPO_ROOT } from '../tests/testbed/paths.ts';

const say = (line: string) => process.stdout.write(`\n\x1b[1m# ${line}\x1b[0m\n`);
const startedHere = !readBed();
const bed = readBed() ?? (await up((line) => process.stderr.write(`[testbed] ${line}\n`)));
const env = {
  ...process.env,
  ...Object.fromEntries(
    readFileSync(join(bed.dir, 'env'), 'utf8')
      .split('\n')
      .flatMap((line) => {
        const m = /^export (RCLONE_CONFIG_TESTBED_\w+)='(.*)'$/.exec(line);
        return m ? [[m[1]!, m[2]!]] : [];
      }),
  ),
  KUBECONFIG: bed.kubeconfig,
  PATH: `${join(REPO_ROOT, 'bin')}:${join(bed.kubectl, '..')}:${process.env.PATH}`,
};
const run = (command: string, args: string[], input?: string) => {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  const output = execFileSync(command, args, { env, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'inherit'] });
  // Output without a final newline (kubectl's -o jsonpath) still leaves the next command on its own line.
  process.stdout.write(output && !output.endsWith('\n') ? `${output}\n` : output);
  return output;
};
const ns = `demo-${randomBytes(2).toString('hex')}`;

try {
  say('The test bed: a real API server with one simulated node, and an S3 server');
  run('kubectl', ['get', 'nodes']);
  run('kubectl', ['datamover', 'version']);

  say(`A PVC with some data, and the operator's storage Secret, in namespace ${ns}`);
  run('kubectl', ['create', 'namespace', ns]);
  run(
    'kubectl',
    ['apply', '-n', ns, '-f', '-'],
    `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: app-data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Secret
metadata: {name: s3-credentials}
stringData:
  AWS_ACCESS_KEY_ID: ${bed.s3.accessKeyId}
  AWS_SECRET_ACCESS_KEY: ${bed.s3.secretAccessKey}
  BUCKET_HOST: 127.0.0.1
  BUCKET_PORT: "${bed.s3.port}"
  BUCKET_NAME: ${bed.s3.bucket}
  TLS_HOST: "false"
`,
  );
  run('kubectl', ['wait', '-n', ns, '--for=jsonpath={.status.phase}=Bound', 'pvc/app-data']);
  const volume = run('kubectl', [
    'get',
    'pv',
    run('kubectl', ['get', 'pvc', 'app-data', '-n', ns, '-o', 'jsonpath={.spec.volumeName}']).trim(),
    '-o',
    'jsonpath={.spec.hostPath.path}',
  ]).trim();
  process.stdout.write('\n(the bed backs the PVC with that folder; writing sample data into it)\n');
  mkdirSync(join(volume, 'uploads', '2026'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(volume, 'uploads', '2026', `photo-${i}.jpg`), randomBytes(64 * 1024));
  writeFileSync(join(volume, 'database.sqlite'), randomBytes(8 * 1024 * 1024));
  writeFileSync(join(volume, 'config.yaml'), 'replicas: 3\n');

  say('Back up in local mode: clone, helper pod, stream through the API, upload with the local rclone');
  run('kubectl', ['datamover', 'backup', 'app-data', '-n', ns, '--secret', 's3-credentials', '--timestamp-prefix']);

  say('Change one file and back up again: only the change crosses the link');
  appendFileSync(join(volume, 'config.yaml'), 'debug: true\n');
  execFileSync('sleep', ['1']);
  run('kubectl', ['datamover', 'backup', 'app-data', '-n', ns, '--secret', 's3-credentials', '--timestamp-prefix']);

  say("The objects in the bucket (listed with rclone against the bed's S3 server)");
  run(bed.rcloneNew, ['lsf', '-q', '-R', '--max-depth', '2', `testbed:${bed.s3.bucket}`]);
  say('Nothing is left behind in the cluster');
  run('kubectl', ['get', 'pvc,pods', '-n', ns]);
} finally {
  try {
    execFileSync('kubectl', ['delete', 'namespace', ns, '--wait=false'], { env, stdio: 'ignore' });
  } catch {
    // the bed may be gone already
  }
  if (startedHere && !process.argv.includes('--keep'))
    await down((line) => process.stderr.write(`[testbed] ${line}\n`));
}
