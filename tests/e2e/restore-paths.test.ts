// Restore of chosen paths (--path, --to-path, --dry-run) into a live PVC: the chosen file and folder
// come back with their owners, modes, mtimes and symlinks, everything else is left as it was (byte
// for byte, mtimes too), a dry run says what the real run then does, and a --path that matches
// nothing fails before anything is made. Read back with `kubectl exec tar` in a root pod.
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import tar from 'tar-stream';
import { execa } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';
import {
  createBoundPvc,
  createPodOnPvc,
  datamover,
  kubectl,
  managedLeftovers,
  useNamespace,
  userEnv,
  waitFor,
  watchRun,
} from './support/bed.ts';
import { createStorageSecret, emptyBucket } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
const PAST = new Date('2024-02-29T12:34:56Z');

/** An app's volume: a config folder of uid 1000 (a symlink, a nested folder), notes of www-data, other files. */
function writeAppTree(root: string): void {
  const at = (...parts: string[]) => join(root, ...parts);
  mkdirSync(at('conf', 'sub'), { recursive: true });
  writeFileSync(at('conf', 'app.yaml'), 'port: 8080\n');
  writeFileSync(at('conf', 'sub', 'x.txt'), 'nested\n');
  symlinkSync('app.yaml', at('conf', 'current'));
  for (const path of [at('conf', 'app.yaml'), at('conf', 'sub', 'x.txt'), at('conf', 'sub'), at('conf')])
    chownSync(path, 1000, 1000);
  chmodSync(at('conf', 'app.yaml'), 0o640);
  chmodSync(at('conf', 'sub'), 0o750);
  writeFileSync(at('notes.txt'), 'the notes as backed up\n');
  chownSync(at('notes.txt'), 33, 33);
  chmodSync(at('notes.txt'), 0o600);
  mkdirSync(at('other'));
  writeFileSync(at('other', 'keep.txt'), 'not chosen\n');
  writeFileSync(at('linked-a'), 'one inode, two names\n');
  linkSync(at('linked-a'), at('linked-b'));
  for (const path of [at('conf', 'app.yaml'), at('conf', 'sub', 'x.txt'), at('notes.txt'), at('conf', 'sub')])
    utimesSync(path, PAST, PAST);
  utimesSync(at('conf'), PAST, PAST);
}

interface Seen {
  type: string;
  uid: number;
  gid: number;
  mode: string;
  mtime: number;
  /** SHA-256 of a file, a symlink's target. */
  content?: string;
}

/** Every entry of a PVC as `kubectl exec tar` in a root pod shows it. */
async function readBack(namespace: string, pvc: string): Promise<Record<string, Seen>> {
  const pod = `reader-${randomBytes(3).toString('hex')}`;
  await createPodOnPvc(namespace, pod, pvc, { readOnly: true });
  const archive = (await kubectl(['exec', '-n', namespace, pod, '--', 'tar', '-c', '-f', '-', '.'], { binary: true }))
    .stdout as Buffer;
  await kubectl(['delete', 'pod', pod, '-n', namespace]);
  const seen: Record<string, Seen> = {};
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (chunk) => hash.update(chunk as Buffer));
    stream.on('end', () => {
      const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (name && name !== '.')
        seen[name] = {
          type: header.type === 'link' ? 'file' : header.type!,
          uid: header.uid!,
          gid: header.gid!,
          mode: (header.mode! & 0o7777).toString(8),
          // busybox's tar -x (the helper's) gives a symlink the time it was made: its own mtime is not kept.
          mtime: header.type === 'symlink' ? 0 : Math.floor(header.mtime!.getTime() / 1000),
          ...(header.type === 'file' ? { content: hash.digest('hex') } : {}),
          ...(header.type === 'symlink' ? { content: header.linkname } : {}),
          ...(header.type === 'link' ? { content: `link to ${header.linkname!.replace(/^\.\//, '')}` } : {}),
        };
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(archive);
  });
  return seen;
}

/** The entries of `all` at `prefix` or below it, keyed by their path below `under` (default: as they are). */
function pick(all: Record<string, Seen>, prefixes: string[], under = ''): Record<string, Seen> {
  const out: Record<string, Seen> = {};
  for (const [path, entry] of Object.entries(all))
    if (prefixes.some((p) => path === p || path.startsWith(`${p}/`))) out[`${under}${path}`] = entry;
  return out;
}

function without(all: Record<string, Seen>, prefixes: string[]): Record<string, Seen> {
  const chosen = pick(all, prefixes);
  return Object.fromEntries(Object.entries(all).filter(([path]) => !(path in chosen)));
}

function errorLines(stderr: unknown): string[] {
  return String(stderr)
    .split('\n')
    .filter((line) => line.startsWith('error:'));
}

interface PlanJson {
  createPvc?: string;
  entries: Array<{ path: string; type: string; action: string }>;
  counts: Record<string, number>;
  refused?: string;
}

describe('restore of chosen paths (--path, --to-path, --dry-run)', () => {
  const ns = useNamespace('paths');
  let live: string;
  beforeEach(async () => {
    emptyBucket();
    live = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
    writeAppTree(live);
    const backup = await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix']);
    assert.equal(backup.exitCode, 0, String(backup.stderr));
  });

  const restore = (...args: string[]) => dm(ns.name, ['restore', '--secret', 's3', '--to-pvc', 'data', ...args]);

  it('restores one file and one folder into the live PVC, owners and modes too, and touches nothing else', async () => {
    const backedUp = await readBack(ns.name, 'data');
    // Since the backup: the folder is gone, the file changed, and the app wrote a new file and changed another.
    rmSync(join(live, 'conf'), { recursive: true });
    writeFileSync(join(live, 'notes.txt'), 'changed since\n');
    writeFileSync(join(live, 'new.txt'), 'written after the backup\n');
    writeFileSync(join(live, 'other', 'keep.txt'), 'changed, and not chosen\n');
    const before = await readBack(ns.name, 'data');

    const refused = await restore('--path', 'notes.txt', '--path', 'conf/');
    assert.equal(refused.exitCode, 1);
    assert.deepEqual(errorLines(refused.stderr), [
      'error: 1 of the chosen paths exist in PVC "data" with other contents (first: "notes.txt"); pass --overwrite ' +
        'to write over them (files outside the chosen paths are not touched), or --to-path DIR',
    ]);
    assert.deepEqual(await readBack(ns.name, 'data'), before);

    const result = await restore('--path', 'notes.txt', '--path', 'conf/', '--overwrite');
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.match(String(result.stdout), /: 4 files, .* \(5 created, 1 overwritten, 0 unchanged\)$/m);
    const after = await readBack(ns.name, 'data');
    assert.deepEqual(pick(after, ['conf', 'notes.txt']), pick(backedUp, ['conf', 'notes.txt']));
    assert.deepEqual(without(after, ['conf', 'notes.txt']), without(before, ['conf', 'notes.txt']));
    assert.deepEqual(
      [after.conf?.uid, after['conf/sub']?.mode, after['notes.txt']?.mode, after['notes.txt']?.uid],
      [1000, '750', '600', 33],
    );
    const annotation = await restoreAnnotation(ns.name, 'data');
    assert.deepEqual(
      { ...JSON.parse(annotation), from: undefined, time: undefined },
      { state: 'complete', paths: ['notes.txt', 'conf'], from: undefined, time: undefined },
    );
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('--to-path puts the chosen paths aside, and says a hard link whose partner is not chosen is split', async () => {
    const backedUp = await readBack(ns.name, 'data');
    writeFileSync(join(live, 'notes.txt'), 'changed since\n');
    const before = await readBack(ns.name, 'data');
    const aside = 'restored-2026-11-27';
    const result = await restore('--path', 'conf', '--path', 'notes.txt', '--path', 'linked-b', '--to-path', aside);
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.match(String(result.stderr), /warning: "linked-[ab]" is a hard link to "linked-[ab]", not among the chosen/);
    const after = await readBack(ns.name, 'data');
    const { [aside]: folder, ...restored } = pick(after, [aside]);
    assert.equal(folder?.type, 'directory');
    const sha = createHash('sha256').update('one inode, two names\n').digest('hex');
    assert.deepEqual(restored, {
      ...pick(backedUp, ['conf', 'notes.txt'], `${aside}/`),
      [`${aside}/linked-b`]: { ...backedUp['linked-b']!, type: 'file', content: sha },
    });
    assert.deepEqual(without(after, [aside]), before);

    // Both names chosen: one inode again.
    const both = await restore('--path', 'linked-a', '--path', 'linked-b', '--to-path', 'both');
    assert.equal(both.exitCode, 0, String(both.stderr));
    assert.doesNotMatch(String(both.stderr), /hard link/);
    const linked = await readBack(ns.name, 'data');
    // tar shows the inode's first name as the file, the other as a link to it.
    const [a, b] = [linked['both/linked-a']?.content, linked['both/linked-b']?.content];
    assert.ok(
      (a === sha && b === 'link to both/linked-a') || (b === sha && a === 'link to both/linked-b'),
      `${a} ${b}`,
    );
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('interrupted mid-stream, leaves no pod and no partial file under its name; run again, it completes', async () => {
    mkdirSync(join(live, 'many'));
    for (let i = 0; i < 30; i++) writeFileSync(join(live, 'many', `part-${i}.bin`), randomBytes(1024 * 1024));
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const args = ['restore', '--secret', 's3', '--to-pvc', 'data', '--path', 'many', '--to-path', 'aside'];
    const run = execa(join(REPO_ROOT, 'bin', 'kubectl-datamover'), [...args, '--batch-size', '1Mi', '-n', ns.name], {
      env: userEnv({ RCLONE_BWLIMIT: '2M' }),
      extendEnv: false,
      reject: false,
    });
    const running = watchRun(run);
    const arrived = join(live, 'aside', 'many');
    await waitFor('a first batch in the PVC', () => {
      running.assertRunning('it could be interrupted');
      return existsSync(arrived) && readdirSync(arrived).some((f) => f.endsWith('.bin')) ? true : undefined;
    });
    run.kill('SIGTERM');
    const result = await run;
    assert.equal(result.exitCode, 1);
    assert.match(String(result.stderr), /error: interrupted by SIGTERM/);
    assert.equal(await managedLeftovers(ns.name), '');
    const annotation = await restoreAnnotation(ns.name, 'data');
    assert.deepEqual([JSON.parse(annotation).state, JSON.parse(annotation).paths], ['incomplete', ['many']]);
    const whole = readdirSync(arrived).filter((f) => f.endsWith('.bin'));
    assert.ok(whole.length < 30, 'the restore went on to the end');
    for (const name of whole) assert.equal(statSync(join(arrived, name)).size, 1024 * 1024, name);

    const again = await dm(ns.name, args);
    assert.equal(again.exitCode, 0, String(again.stderr));
    // The files already in are unchanged; only the folder (its mtime) is written over.
    const counts = /\((\d+) created, (\d+) overwritten, (\d+) unchanged\)$/m.exec(String(again.stdout));
    assert.deepEqual(counts?.slice(1).map(Number), [30 - whole.length, 1, whole.length], String(again.stdout));
    const restored = readdirSync(arrived).sort();
    assert.deepEqual(restored, readdirSync(join(live, 'many')).sort());
    for (const name of restored)
      assert.ok(readFileSync(join(arrived, name)).equals(readFileSync(join(live, 'many', name))), name);
  });

  it('--dry-run lists what the real run then does, writes nothing and leaves no pod', async () => {
    rmSync(join(live, 'conf', 'sub', 'x.txt'));
    writeFileSync(join(live, 'notes.txt'), 'changed since\n');
    const before = await readBack(ns.name, 'data');
    const args = ['--path', 'conf', '--path', 'notes.txt'];
    const text = await restore(...args, '--dry-run');
    assert.equal(text.exitCode, 0, String(text.stderr));
    const lines = String(text.stdout).trim().split('\n');
    assert.ok(lines.includes('create    conf/sub/x.txt'), String(text.stdout));
    assert.ok(lines.includes('overwrite notes.txt'), String(text.stdout));
    assert.ok(lines.includes('unchanged conf/app.yaml'), String(text.stdout));
    assert.ok(lines.includes('unchanged conf/current'), String(text.stdout));
    assert.match(lines.at(-1)!, /^dry run, nothing written: 1 to create, \d+ to overwrite, \d+ unchanged /);
    assert.match(String(text.stderr), /warning: 1 path would be overwritten: the restore needs --overwrite/);

    const dry = await restore(...args, '--dry-run', '-o', 'json');
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    const plan = JSON.parse(String(dry.stdout)) as PlanJson;
    assert.deepEqual(plan.entries.map((e) => e.path).sort(), [
      'conf',
      'conf/app.yaml',
      'conf/current',
      'conf/sub',
      'conf/sub/x.txt',
      'notes.txt',
    ]);
    assert.deepEqual(await readBack(ns.name, 'data'), before);
    assert.equal(await managedLeftovers(ns.name), '');

    const real = await restore(...args, '--overwrite', '-o', 'json');
    assert.equal(real.exitCode, 0, String(real.stderr));
    assert.deepEqual(JSON.parse(String(real.stdout)).counts, plan.counts);
    // Run again, everything is in place: the dry run finds nothing to create or overwrite.
    const again = JSON.parse(String((await restore(...args, '--dry-run', '-o', 'json')).stdout)) as PlanJson;
    assert.deepEqual(again.counts, { create: 0, overwrite: 0, unchanged: plan.entries.length, delete: 0 });
  });

  it('--dry-run with --create says the PVC would be created and creates nothing', async () => {
    const dry = await dm(ns.name, [
      'restore',
      '--secret',
      's3',
      '--to-pvc',
      'fresh',
      '--create',
      '--size',
      '1Gi',
      '--path',
      'conf',
      '--dry-run',
    ]);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    const lines = String(dry.stdout).trim().split('\n');
    assert.equal(lines[0], `PVC ${ns.name}/fresh would be created (1Gi)`);
    assert.match(lines.at(-1)!, /^dry run, nothing written: 5 to create, 0 to overwrite, 0 unchanged /);
    assert.equal(await managedLeftovers(ns.name), '');
    const pvcs = await kubectl(['get', 'pvc', 'fresh', '-n', ns.name], { reject: false });
    assert.match(String(pvcs.stderr), /NotFound/);
  });

  it('fails in one line for a --path that matches nothing, and leaves nothing in the cluster', async () => {
    const result = await dm(ns.name, [
      'restore',
      '--secret',
      's3',
      '--to-pvc',
      'fresh',
      '--create',
      '--size',
      '1Gi',
      '--path',
      'conf',
      '--path',
      'conf/missing.yaml',
    ]);
    assert.equal(result.exitCode, 1);
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(errors[0]!, /^error: --path "conf\/missing\.yaml" matches nothing in backup \d{4}-\d{2}-\d{2}-\d{6};/);
    assert.equal(await managedLeftovers(ns.name), '');
    const pvcs = String((await kubectl(['get', 'pvc', '-n', ns.name, '-o', 'name'])).stdout).trim();
    assert.equal(pvcs, 'persistentvolumeclaim/data');
  });

  it('refuses a --path or --to-path that is absolute or holds "..", and --delete with --path', async () => {
    for (const [flags, message] of [
      [['--path', '/conf'], /^error: --path "\/conf" is not relative;/],
      [['--path', 'conf/../notes.txt'], /^error: --path "conf\/\.\.\/notes\.txt" holds "\.\.";/],
      [['--path', 'conf', '--to-path', '../up'], /^error: --to-path "\.\.\/up" holds "\.\.";/],
      [['--path', 'conf', '--overwrite', '--delete'], /^error: --delete cannot be used with --path or --to-path;/],
    ] as const) {
      const result = await restore(...flags);
      assert.equal(result.exitCode, 2, String(result.stderr));
      assert.match(errorLines(result.stderr).join('\n'), message);
    }
    assert.equal(await managedLeftovers(ns.name), '');
  });
});

/** The restore's record on a PVC (annotation datamover.a-cup-of.coffee/restore), as JSON text. */
async function restoreAnnotation(namespace: string, pvc: string): Promise<string> {
  const path = 'jsonpath={.metadata.annotations.datamover\\.a-cup-of\\.coffee/restore}';
  return String((await kubectl(['get', 'pvc', pvc, '-n', namespace, '-o', path])).stdout);
}
