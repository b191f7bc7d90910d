// Any file, any owner: a database-like volume (a 0700 folder of uid 999, a root-only key, a setgid
// folder of 1000:2000, hard links, a name with a newline, a name that is not UTF-8) backs up and
// restores with its owners, modes, mtimes and links, on a bed whose exec runs as the pod's user like
// a kubelet's. Read back with `kubectl exec tar` in a root pod, compared entry by entry.
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import tar from 'tar-stream';
import {
  bed,
  createBoundPvc,
  createPodOnPvc,
  datamover,
  kubectl,
  managedLeftovers,
  useNamespace,
} from './support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
/** Names a file system holds and a careless listing breaks on; the last is 4,000 bytes of path. */
const ODD_NAMES = [
  'report\nfinal.txt',
  'tab\there',
  'back\\slash',
  '-leading-dash',
  `quotes "double" 'single'`,
  'x'.repeat(255),
  [...Array(15)].map((_, i) => `${i}${'d'.repeat(250)}`).join('/'),
];
const INVALID_UTF8_NAME = Buffer.from([0x6f, 0x6c, 0x64, 0xff, 0x2e, 0x74, 0x78, 0x74]); // "old\xff.txt"
/** The key rclone gives that name in S3 (its InvalidUtf8 encoding). */
const INVALID_UTF8_KEY = 'old‛FF.txt';
/** A name with rclone's quote character and a literal picture, which rclone quotes (see README). */
const QUOTED_NAME = 'quote‛ and picture␊';
/** readBack's name for it: names are read one char per byte. */
const INVALID_UTF8_SEEN = INVALID_UTF8_NAME.toString('latin1');

/**
 * The bed's S3 server (rclone serve s3) lists the key "old‛FF.txt" as "old‛‛FF.txt" (it quotes "‛"
 * once more, as it turns a newline into "‛␊"): the backup's check of the destination would fail, as
 * README says. Tests that use it leave that file out; the odd-names test carries it.
 */
function removeInvalidUtf8Name(root: string): void {
  rmSync(Buffer.concat([Buffer.from(`${root}/`), INVALID_UTF8_NAME]));
}

/** PostgreSQL's layout and then some, written on the host as root (as an app's pods would have). */
function writeDatabaseTree(root: string): void {
  const at = (...parts: string[]) => join(root, ...parts);
  mkdirSync(at('pgdata', 'base'), { recursive: true });
  writeFileSync(at('pgdata', 'PG_VERSION'), '17\n');
  writeFileSync(at('pgdata', 'base', '16384'), Buffer.alloc(64 * 1024, 7));
  for (const path of [at('pgdata', 'PG_VERSION'), at('pgdata', 'base', '16384')]) {
    chownSync(path, 999, 999);
    chmodSync(path, 0o600);
  }
  chownSync(at('pgdata', 'base'), 999, 999);
  chmodSync(at('pgdata', 'base'), 0o700);
  chownSync(at('pgdata'), 999, 999);
  chmodSync(at('pgdata'), 0o700);
  writeFileSync(at('root-only.key'), 'not really a key\n');
  chmodSync(at('root-only.key'), 0o400);
  mkdirSync(at('shared'));
  chownSync(at('shared'), 1000, 2000);
  chmodSync(at('shared'), 0o2775);
  writeFileSync(at('shared', 'upload.bin'), 'from uid 1001\n');
  chownSync(at('shared', 'upload.bin'), 1001, 2000);
  chmodSync(at('shared', 'upload.bin'), 0o664);
  writeFileSync(at('www.html'), '<p>www-data</p>\n');
  chownSync(at('www.html'), 33, 33);
  writeFileSync(at('tool'), '#!/bin/sh\n');
  chmodSync(at('tool'), 0o4755);
  writeFileSync(at('linked-a'), 'one inode, two names\n');
  linkSync(at('linked-a'), at('linked-b'));
  writeFileSync(Buffer.concat([Buffer.from(`${root}/`), INVALID_UTF8_NAME]), 'not UTF-8\n');
  execFileSync('mkfifo', [at('queue.fifo')]);
  const past = new Date('2024-02-29T12:34:56Z');
  for (const path of [at('pgdata', 'base', '16384'), at('shared'), at('pgdata', 'base'), at('pgdata')])
    utimesSync(path, past, past);
}

interface Seen {
  type: string;
  uid: number;
  gid: number;
  mode: string;
  mtime: number;
  content?: string;
  /** The names of the inode, for files with hard links. */
  names?: string[];
}

/** Every entry of a PVC as `kubectl exec tar` in a root pod shows it, names one char per byte (latin1). */
async function readBack(namespace: string, pvc: string): Promise<Record<string, Seen>> {
  const pod = `reader-${pvc}`;
  await createPodOnPvc(namespace, pod, pvc, { readOnly: true });
  const archive = (await kubectl(['exec', '-n', namespace, pod, '--', 'tar', '-c', '-f', '-', '.'], { binary: true }))
    .stdout as Buffer;
  await kubectl(['delete', 'pod', pod, '-n', namespace, '--wait=false']);
  const seen: Record<string, Seen> = {};
  const links: Array<[string, string]> = [];
  const extract = tar.extract({ filenameEncoding: 'latin1' } as Parameters<typeof tar.extract>[0]);
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (name && name !== '.') {
        if (header.type === 'link') links.push([name, header.linkname!.replace(/^\.\//, '')]);
        seen[name] = {
          type: header.type === 'link' ? 'file' : header.type!,
          uid: header.uid!,
          gid: header.gid!,
          mode: (header.mode! & 0o7777).toString(8),
          mtime: Math.floor(header.mtime!.getTime() / 1000),
          ...(header.type === 'file'
            ? { content: createHash('sha256').update(Buffer.concat(chunks)).digest('hex') }
            : {}),
          ...(header.type === 'symlink' ? { content: header.linkname } : {}),
        };
      }
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(archive);
  });
  for (const [name, target] of links) {
    seen[name]!.content = seen[target]!.content;
    const names = [name, target].sort();
    seen[name]!.names = names;
    seen[target]!.names = names;
  }
  return seen;
}

describe('owners, modes, hard links and odd names (kubelet-true exec)', () => {
  const ns = useNamespace('owners');
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'db');
    await createStorageSecret(ns.name);
    writeDatabaseTree(source);
  });

  it('backs up a volume nobody can read whole, and restores owners, modes, mtimes and hard links', async () => {
    removeInvalidUtf8Name(source);
    const backup = await dm(ns.name, ['backup', 'db', '--secret', 's3', '--timestamp-prefix', '-o', 'json']);
    assert.equal(backup.exitCode, 0, String(backup.stderr));
    const stderr = String(backup.stderr);
    assert.match(stderr, /Start a helper pod that can read every file: done .*root with only DAC_OVERRIDE/);
    assert.match(stderr, /skipping "queue\.fifo": a FIFO/);
    const result = JSON.parse(String(backup.stdout));
    assert.equal(result.filesSkipped, 1);
    const [folder] = readdirSync(bucketPath());
    const objects = readdirSync(bucketPath(folder!), { recursive: true }).map(String);
    assert.equal(objects.includes('linked-a') !== objects.includes('linked-b'), true, 'a hard link stored twice');

    const restore = await dm(ns.name, [
      'restore',
      '--secret',
      's3',
      '--from',
      'latest',
      '--to-pvc',
      'restored',
      '--create',
      '--size',
      '1Gi',
    ]);
    assert.equal(restore.exitCode, 0, String(restore.stderr));
    const expected = await readBack(ns.name, 'db');
    const restored = await readBack(ns.name, 'restored');
    delete expected['queue.fifo'];
    assert.deepEqual(restored, expected);
    assert.deepEqual(restored['linked-a']?.names, ['linked-a', 'linked-b']);
    assert.deepEqual(
      [restored.pgdata?.uid, restored.pgdata?.mode, restored.shared?.mode, restored.tool?.mode],
      [999, '700', '2775', '4755'],
    );
    assert.equal(await managedLeftovers(ns.name), 'persistentvolumeclaim/restored');
  });

  it('in a namespace that enforces Pod Security "restricted", says what it cannot read and sends nothing', async () => {
    await kubectl(['label', 'namespace', ns.name, 'pod-security.kubernetes.io/enforce=restricted']);
    const backup = await dm(ns.name, ['backup', 'db', '--secret', 's3', '--timestamp-prefix']);
    assert.equal(backup.exitCode, 1);
    const errors = String(backup.stderr)
      .split('\n')
      .filter((line) => line.startsWith('error:'));
    assert.equal(errors.length, 1, String(backup.stderr));
    assert.match(
      errors[0]!,
      new RegExp(
        '^error: 2 entries of the volume cannot be read as uid 65534:65534 ' +
          '\\(first: "pgdata", a folder of 999:999, mode 0700\\); nothing was sent',
      ),
    );
    assert.match(
      String(backup.stderr),
      /enforces Pod Security "restricted".*pod-security\.kubernetes\.io\/enforce=baseline/,
    );
    assert.deepEqual(readdirSync(bucketPath()), []);
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('with --run-as the database user, refuses the root-only key in one line', async () => {
    const backup = await dm(ns.name, ['backup', 'db', '--secret', 's3', '--run-as', '999']);
    assert.equal(backup.exitCode, 1);
    assert.match(String(backup.stderr), /1 entry of the volume cannot be read as uid 999:999 \(first: "root-only.key"/);
    assert.deepEqual(readdirSync(bucketPath()), []);
  });

  it('verify --against-pvc reports a changed owner and a changed mode', async () => {
    removeInvalidUtf8Name(source);
    assert.equal((await dm(ns.name, ['backup', 'db', '--secret', 's3'])).exitCode, 0);
    chownSync(join(source, 'www.html'), 1000, 1000);
    chmodSync(join(source, 'tool'), 0o755);
    const verify = await dm(ns.name, ['verify', '--secret', 's3', '--from', 'plain', '--against-pvc', 'db']);
    assert.equal(verify.exitCode, 1, `${verify.stdout}${verify.stderr}`);
    const out = String(verify.stdout);
    assert.match(String(verify.stderr), /Start a helper pod that can read every file/);
    assert.match(out, /^OWNER +www\.html +\(backup 33:33, PVC 1000:1000\)$/m);
    assert.match(out, /^MODE +tool +\(backup 4755, PVC 0755\)$/m);
  });

  // ...and the tree's "old\xff.txt", not UTF-8.
  it('carries names with a newline, a tab, a backslash, a dash, quotes, 255 bytes, 4,000-byte paths', async () => {
    for (const name of ODD_NAMES) {
      mkdirSync(join(source, 'odd', name, '..'), { recursive: true });
      writeFileSync(join(source, 'odd', name), `content of ${name.length}\n`);
    }
    writeFileSync(join(source, 'odd', QUOTED_NAME), 'quoted\n');
    // A local-disk rclone remote: rclone serve s3 (the bed's S3) lists a key holding a newline as "‛␊",
    // unlike S3 itself; rclone's own local backend names files as rclone does everywhere else. With
    // S3's encoding of bytes that are not UTF-8, it names "old\xff.txt" as the S3 key "old‛FF.txt".
    const store = mkdtempSync(join(tmpdir(), 'datamover-odd-'));
    const env = { RCLONE_CONFIG_DISK_TYPE: 'local', RCLONE_CONFIG_DISK_ENCODING: 'Slash,Dot,InvalidUtf8' };
    const remote = `disk:${store}`;
    const backup = await datamover(['backup', 'db', '-n', ns.name, '--remote', remote, '--run-as', 'root'], { env });
    assert.equal(backup.exitCode, 0, String(backup.stderr));
    assert.doesNotMatch(String(backup.stderr), /UTF-8/);
    for (const name of ODD_NAMES)
      assert.equal(readFileSync(join(store, 'odd', name), 'utf8'), `content of ${name.length}\n`, JSON.stringify(name));
    assert.equal(readFileSync(join(store, INVALID_UTF8_KEY), 'utf8'), 'not UTF-8\n');
    // rclone's local backend keeps a literal "‛" quoted on disk.
    assert.equal(readFileSync(join(store, 'odd', 'quote‛‛ and picture␊'), 'utf8'), 'quoted\n');
    const manifest = JSON.parse(readFileSync(join(store, '.datamover-manifest.json'), 'utf8'));
    assert.ok(
      manifest.entries.some((e: { path: string }) => e.path === 'old\udcff.txt'),
      'not in the manifest',
    );
    const verifyArgs = ['verify', '-n', ns.name, '--remote', remote, '--from', 'plain', '--against-pvc', 'db'];
    const verify = await datamover(verifyArgs, { env });
    assert.equal(verify.exitCode, 0, `${verify.stdout}${verify.stderr}`);
    const args = ['restore', '-n', ns.name, '--remote', remote, '--from', 'plain', '--to-pvc', 'back', '--create'];
    args.push('--size', '1Gi');
    const restore = await datamover(args, { env });
    assert.equal(restore.exitCode, 0, String(restore.stderr));
    const restored = await readBack(ns.name, 'back');
    for (const name of ODD_NAMES) assert.ok(restored[`odd/${name}`], `${JSON.stringify(name)} not restored`);
    const original = await readBack(ns.name, 'db');
    assert.ok(restored[INVALID_UTF8_SEEN], 'the name that is not UTF-8 was not restored byte for byte');
    assert.deepEqual(restored[INVALID_UTF8_SEEN], original[INVALID_UTF8_SEEN]);
    const quoted = `odd/${Buffer.from(QUOTED_NAME).toString('latin1')}`;
    assert.ok(restored[quoted], `${QUOTED_NAME} not restored`);
    assert.deepEqual(restored[quoted], original[quoted]);
    assert.deepEqual(
      Object.keys(restored).filter((name) => name.startsWith('old')),
      [INVALID_UTF8_SEEN],
    );
    // The same names streamed from `rclone archive create` (the pinned rclone), with nothing staged;
    // chosen with --path, since a batch holding a key with "‛" is staged.
    const streamed = await datamover(
      [
        ...['restore', '-n', ns.name, '--remote', remote, '--from', 'plain', '--to-pvc', 'streamed', '--create'],
        ...['--size', '1Gi', '--rclone', bed().rcloneNew, ...ODD_NAMES.flatMap((name) => ['--path', `odd/${name}`])],
      ],
      { env },
    );
    assert.equal(streamed.exitCode, 0, String(streamed.stderr));
    assert.doesNotMatch(String(streamed.stderr), /local staging folder/);
    const streamedBack = await readBack(ns.name, 'streamed');
    for (const name of ODD_NAMES) {
      const seen = `odd/${Buffer.from(name).toString('latin1')}`;
      assert.deepEqual(streamedBack[seen], original[seen], JSON.stringify(name));
    }
    rmSync(store, { recursive: true, force: true });
  });
});
