// The e2e suite: its files run side by side in mocha workers on one bed (each test in its own
// namespace, each worker in its own bucket). The fault matrix's outages, which stop a bed's
// API and S3 servers, run meanwhile on a second bed of their own (tests/faults/.mocharc.cjs).
const { readdirSync } = require('node:fs');

// Files that take minutes start first, so that none of them is left to run alone at the end.
const LONGEST_FIRST = [
  'faults-restore',
  'operator-schedules',
  'operator-real',
  'faults',
  'backup-local',
  'operator',
  'strict-bed',
  'restore',
  'snapshots',
  'restore-paths',
  'bad-input',
  'owners',
  'krew',
];
const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.ts'));
const rank = (file) => {
  const i = LONGEST_FIRST.indexOf(file.replace(/\.test\.ts$/, ''));
  return i === -1 ? LONGEST_FIRST.length : i;
};

module.exports = {
  spec: files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => `tests/e2e/${f}`),
  extension: ['ts'],
  require: ['tests/e2e/support/hooks.ts'],
  parallel: true,
  // Most of a test's time is spent waiting on controllers and pods, not on the 2 cores.
  jobs: Number(process.env.DATAMOVER_E2E_JOBS || 4),
  timeout: 180000,
  slow: 10000,
  reporter: 'spec',
};
