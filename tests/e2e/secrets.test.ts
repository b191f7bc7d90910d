// Secrets never leak: a backup (and check --in-cluster) runs at -v=9 under strace, which records
// every process the plugin starts (argv and environment, at exec); a watch records every version
// of the objects of the namespace while the run makes them. What they printed, the temp folder
// they used and all of that are scanned for the storage keys.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { bed, createBoundPvc, kubectl, useNamespace, userEnv, waitFor } from './support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from './support/storage.ts';

describe('secrets never leak', () => {
  const ns = useNamespace('secrets');
  let source: string;
  let tmp: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    writeFileSync(join(source, 'payload.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
    await createStorageSecret(ns.name);
    tmp = mkdtempSync(join(bed().dir, 'tmp-'));
  });
  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
    for (const watch of watches.splice(0)) watch.kill(); // those of a test that failed
  });

  for (const command of ['backup', 'check --in-cluster'] as const) {
    it(`${command} at -v=9: not in any argv, non-rclone environment, output, temp file or cluster object`, async () => {
      const secrets = secretForms([bed().s3.secretAccessKey, bed().s3.accessKeyId]);
      const args =
        command === 'backup'
          ? ['datamover', 'backup', 'data', '--secret', 's3', '--staging-cap', '1Mi', '-v=9', '-n', ns.name]
          : [
              'datamover',
              'check',
              '--secret',
              's3',
              '--in-cluster',
              '--image',
              'rclone/rclone:1.76',
              '-v=9',
              '-n',
              ns.name,
            ];
      const objects = await watchObjects(ns.name);
      const trace = join(bed().dir, `strace-${ns.name}.txt`);
      const result = await execa('strace', [...STRACE, '-o', trace, 'kubectl', ...args], {
        env: userEnv({ TMPDIR: tmp }),
        extendEnv: false,
        reject: false,
        all: true,
      });
      assert.equal(result.exitCode, 0, String(result.all));

      const execs = readExecs(trace);
      rmSync(trace);
      const commands = new Set(execs.map((e) => e.command));
      assert.ok(commands.has('rclone'), `rclone was not started: ${[...commands].join(', ')}`);
      for (const e of execs) {
        assertClean(e.argv, secrets, `argv of ${e.command}`);
        // rclone gets the keys in its environment, by design: nothing else may.
        if (e.command !== 'rclone') assertClean(e.environment, secrets, `environment of ${e.command}`);
      }
      assertClean(String(result.all), secrets, 'stdout/stderr at -v=9');
      assert.match(String(result.all), /I6 get secrets "s3" in namespace/, 'the -v=9 output should show the requests');
      for (const file of filesUnder(tmp)) assertClean(readFileSync(file, 'latin1'), secrets, `temp file ${file}`);
      // Every version of the objects the run made, up to the deletion of its pod.
      const seen = await objects.stop();
      assert.match(seen, /"type":"DELETED","object":\{"kind":"Pod"/, 'the watch did not see the pod deleted');
      if (command === 'backup') assert.match(seen, /"kind":"PersistentVolumeClaim".*"name":"data-cloned-\d+"/);
      assertClean(seen, secrets, 'the objects the run made');
      const events = await kubectl(['get', 'events', '-n', ns.name, '-o', 'yaml']);
      assertClean(String(events.stdout), secrets, 'the events of the namespace');
      if (command === 'backup') assert.ok(Object.keys(objectsIn(bucketPath())).includes('payload.bin'));
    });
  }
});

/** Only execve is stopped on (seccomp-bpf), strings in full, environments too (-v). */
const STRACE = ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve', '-e', 'signal=none', '-v', '-s', '1000000'];

/** Each execve in an strace file: the command's name, its argv and its environment, as strace printed them. */
function readExecs(file: string): Array<{ command: string; argv: string; environment: string }> {
  const execs = [];
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    // PID execve("PATH", [ARGV...], [ENV...]) = RESULT (an "<... execve resumed>" line carries no strings)
    const call = /^\d+ +execve\("((?:[^"\\]|\\.)*)", \[(.*?)\], (.*)$/.exec(line);
    if (call) execs.push({ command: basename(call[1]!), argv: call[2]!, environment: call[3]! });
  }
  assert.ok(execs.length > 0, `no execve in ${file}`);
  return execs;
}

/** The watches of the running test. */
const watches: ResultPromise[] = [];

/**
 * Watches the namespace's pods, PVCs, ConfigMaps and Jobs from now on (from the resourceVersion of a
 * list, so nothing made after this call is missed); `stop` waits until a pod of the plugin was seen
 * deleted, and returns every event the API server sent.
 */
async function watchObjects(namespace: string): Promise<{ stop: () => Promise<string> }> {
  const collections = ['pods', 'persistentvolumeclaims', 'configmaps']
    .map((kind) => `/api/v1/namespaces/${namespace}/${kind}`)
    .concat(`/apis/batch/v1/namespaces/${namespace}/jobs`);
  let seen = '';
  for (const path of collections) {
    const rv = JSON.parse(String((await kubectl(['get', '--raw', path])).stdout)).metadata.resourceVersion;
    const watch: ResultPromise = execa('kubectl', ['get', '--raw', `${path}?watch=1&resourceVersion=${rv}`], {
      env: userEnv(),
      extendEnv: false,
      reject: false,
    });
    watch.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    watches.push(watch);
  }
  return {
    async stop() {
      await waitFor('the deletion of the pod in the watch', () =>
        /"type":"DELETED","object":\{"kind":"Pod"/.test(seen) ? true : undefined,
      );
      const stopped = watches.splice(0);
      for (const watch of stopped) watch.kill();
      await Promise.all(stopped);
      return seen;
    },
  };
}

/** A secret as it may appear: raw, base64 (as in a Secret's data), and URL-encoded. */
function secretForms(values: string[]): string[] {
  return values.flatMap((v) => [v, Buffer.from(v).toString('base64'), encodeURIComponent(v)]);
}

function assertClean(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret value appears in ${where}`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}
