// Secrets never leak: while a backup runs at -v=9 the test watches every
// process the plugin starts; afterwards it scans what they printed, the temp
// folder they used and the objects left in the cluster for the storage keys.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { bed, createBoundPvc, kubectl, useNamespace, userEnv } from './support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from './support/storage.ts';

interface SeenProcess {
  pid: number;
  command: string;
  cmdline: string;
  environ: string;
}

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
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

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
      const child = execa('kubectl', args, {
        env: userEnv({ TMPDIR: tmp }),
        extendEnv: false,
        reject: false,
        all: true,
      });
      const seen = await watchDescendants(child.pid!, child);
      const result = await child;
      assert.equal(result.exitCode, 0, String(result.all));

      const commands = new Set([...seen.values()].map((p) => p.command));
      assert.ok(commands.has('rclone'), `rclone was not seen among ${[...commands].join(', ')}`);
      for (const p of seen.values()) {
        assertClean(p.cmdline, secrets, `argv of ${p.command} (${p.pid})`);
        // rclone gets the keys in its environment, by design: nothing else may.
        if (p.command !== 'rclone') assertClean(p.environ, secrets, `environment of ${p.command} (${p.pid})`);
      }
      assertClean(String(result.all), secrets, 'stdout/stderr at -v=9');
      assert.match(String(result.all), /I6 get secrets "s3" in namespace/, 'the -v=9 output should show the requests');
      for (const file of filesUnder(tmp)) assertClean(readFileSync(file, 'latin1'), secrets, `temp file ${file}`);
      const objects = await kubectl(['get', 'pvc,pods,configmaps,events,jobs', '-n', ns.name, '-o', 'yaml']);
      assertClean(String(objects.stdout), secrets, 'the objects in the namespace');
      if (command === 'backup') assert.ok(Object.keys(objectsIn(bucketPath())).includes('payload.bin'));
    });
  }
});

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

/** Polls /proc until `child` ends, recording every descendant of `root` (argv and environment, read while it runs). */
async function watchDescendants(root: number, child: Promise<unknown>): Promise<Map<number, SeenProcess>> {
  const seen = new Map<number, SeenProcess>();
  let done = false;
  void child.finally(() => {
    done = true;
  });
  while (!done) {
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readProc(Number(entry), 'stat');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const ppid = stat && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid) parents.set(Number(entry), ppid);
    }
    for (const pid of parents.keys()) {
      if (seen.has(pid) && seen.get(pid)!.environ) continue;
      let ancestor: number | undefined = pid;
      while (ancestor && ancestor !== root) ancestor = parents.get(ancestor);
      if (ancestor !== root && pid !== root) continue;
      const cmdline = readProc(pid, 'cmdline');
      const environ = readProc(pid, 'environ');
      const command = (readProc(pid, 'comm') ?? '').trim();
      if (cmdline !== undefined)
        seen.set(pid, { pid, command, cmdline: cmdline.replace(/\0/g, ' '), environ: environ ?? '' });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return seen;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}
