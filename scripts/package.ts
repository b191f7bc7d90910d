// npm run package: one self-contained kubectl-datamover executable per
// platform (an esbuild bundle injected into the official Node binary of that
// platform as a single executable application), one archive per platform
// (binary + LICENSE), and the krew manifest with their sha256. The same commit
// gives the same bytes (no path, clock or owner of the build machine in them).
// Usage: node scripts/package.ts [--platforms host|all] [--out DIR]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hostPlatform, PLATFORMS, type Platform } from '../krew-manifest/platforms.ts';
import { krewManifest, releaseUri, type BuiltArchive } from '../krew-manifest/manifest.ts';
import { bundlePlugin, NODE_FLAGS } from './bundle.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    platforms: { type: 'string', default: 'all' },
    out: { type: 'string', default: join(ROOT, 'dist', 'release') },
  },
});
const out = resolve(values.out!);
const version: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const nodeVersion = process.versions.node;
const cache = join(process.env.DATAMOVER_CACHE ?? join(homedir(), '.cache', 'kubectl-datamover'), 'node-bin');
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const log = (line: string) => process.stderr.write(`[package] ${line}\n`);

/** The archives' file times: SOURCE_DATE_EPOCH (reproducible-builds.org), else the commit's time. */
function sourceDateEpoch(): number {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
  } catch {
    return 315532800; // 1980-01-01, the earliest time a zip holds
  }
}

const versionsOf = (pkg: string): string[] => {
  try {
    return JSON.parse(
      execFileSync('npm', ['view', pkg, 'versions', '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as string[];
  } catch {
    return [];
  }
};
const newer = (a: string, b: string) =>
  a
    .split('.')
    .map(Number)
    .reduce((d, n, i) => d || n - Number(b.split('.')[i]), 0);

/**
 * The Node release a platform's binary comes from: this Node's version when
 * npm carries it for that platform, else the newest release of the same major
 * that npm carries both for it and for this machine (the SEA blob is made by
 * the same version).
 */
function nodeReleaseFor(platform: Platform): { pkg: string; version: string } {
  const host = hostPlatform().nodePackages[0]!;
  const hostVersions = new Set(versionsOf(host));
  for (const pkg of platform.nodePackages) {
    const versions = versionsOf(pkg);
    if (versions.includes(nodeVersion)) return { pkg, version: nodeVersion };
    const sameMajor = versions
      .filter((v) => v.split('.')[0] === nodeVersion.split('.')[0] && hostVersions.has(v))
      .sort(newer);
    if (sameMajor.length) return { pkg, version: sameMajor.at(-1)! };
  }
  throw new Error(
    `no Node ${nodeVersion.split('.')[0]}.x binary for ${platform.os}/${platform.arch} in the npm registry ` +
      `(${platform.nodePackages.join(', ')})`,
  );
}

/** A Node binary from its npm package, cached. */
function nodeBinary(pkg: string, version: string, path: string): string {
  const dir = join(cache, `${pkg}-${version}`);
  const binary = join(dir, path);
  if (!existsSync(binary)) {
    log(`fetching ${pkg}@${version} from the npm registry`);
    mkdirSync(dir, { recursive: true });
    const tarball = execFileSync('npm', ['pack', '--silent', `${pkg}@${version}`], { cwd: dir, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    execFileSync('tar', ['-xzf', tarball, path], { cwd: dir });
    rmSync(join(dir, tarball));
  }
  return binary;
}

/** The SEA preparation blob, made by the Node release the binary comes from. */
const blobs = new Map<string, string>();
function seaBlob(version: string): string {
  const existing = blobs.get(version);
  if (existing) return existing;
  const host = hostPlatform();
  const node = version === nodeVersion ? process.execPath : nodeBinary(host.nodePackages[0]!, version, host.nodeBinary);
  const config = join(work, `sea-config-${version}.json`);
  const blob = join(work, `sea-${version}.blob`);
  // Paths relative to the work folder: the blob records the main script's path, which must not
  // depend on where the build ran.
  writeFileSync(
    config,
    JSON.stringify({
      main: 'kubectl-datamover.cjs',
      output: `sea-${version}.blob`,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
      execArgv: NODE_FLAGS,
    }),
  );
  execFileSync(node, ['--experimental-sea-config', config], { cwd: work, stdio: 'ignore' });
  blobs.set(version, blob);
  return blob;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const work = join(out, 'work');
mkdirSync(work);

log('bundling with esbuild');
await bundlePlugin('entry', join(work, 'kubectl-datamover.cjs'));

const platforms = values.platforms === 'host' ? [hostPlatform()] : PLATFORMS;
const epoch = Math.max(sourceDateEpoch(), 315532800);
const archives: BuiltArchive[] = [];
for (const platform of platforms) {
  const stage = join(work, `${platform.os}-${platform.arch}`);
  mkdirSync(stage);
  const binary = join(stage, platform.bin);
  const release = nodeReleaseFor(platform);
  copyFileSync(nodeBinary(release.pkg, release.version, platform.nodeBinary), binary);
  chmodSync(binary, 0o755);
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js'),
      binary,
      'NODE_SEA_BLOB',
      seaBlob(release.version),
      '--sentinel-fuse',
      SENTINEL,
      ...(platform.os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
    ],
    { stdio: 'pipe' },
  ); // its ELF warnings are noise; failures throw with its stderr
  copyFileSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
  const file = join(out, platform.archive);
  if (platform.os === 'windows') {
    // Deterministic: fixed times, no extra attributes (zip keeps local time: TZ is UTC).
    execFileSync('touch', ['-d', `@${epoch}`, platform.bin, 'LICENSE'], { cwd: stage });
    execFileSync('zip', ['-X', '-q', file, platform.bin, 'LICENSE'], {
      cwd: stage,
      env: { ...process.env, TZ: 'UTC' },
    });
  } else {
    // Deterministic: fixed order, owner and time, no gzip timestamp.
    const tar = execFileSync(
      'tar',
      [
        '--sort=name',
        `--mtime=@${epoch}`,
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '-cf',
        '-',
        platform.bin,
        'LICENSE',
      ],
      { cwd: stage, maxBuffer: 1 << 30 },
    );
    writeFileSync(file, execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 1 << 30 }));
  }
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  archives.push({ platform, file, sha256 });
  log(
    `${platform.archive}: Node ${release.version}, ` +
      `${(readFileSync(file).length / 1024 / 1024).toFixed(1)} MiB, sha256 ${sha256}`,
  );
}
rmSync(work, { recursive: true, force: true });

// The release's krew manifest, next to the archives (never a tracked file: the committed plugin.yaml
// is the template the release bot renders, see krew-manifest/manifest.ts).
writeFileSync(
  join(out, 'datamover.yaml'),
  krewManifest(version, archives, (a) => releaseUri(version, a.platform.archive)),
);
log(`wrote ${out}/datamover.yaml`);
