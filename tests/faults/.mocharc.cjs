// What changes the whole bed, alone on a bed of its own (scripts/e2e.sh brings a second one up for it):
// the fault matrix's outages, which stop that bed's API server and S3 server for everyone on it, and
// the operator's CRDs deleted (which deletes every DataMover of the cluster).
module.exports = {
  spec: ['tests/faults/bed-outages.test.ts', 'tests/faults/operator-uninstalled.test.ts'],
  extension: ['ts'],
  require: ['tests/e2e/support/hooks.ts'],
  timeout: 300000,
  slow: 10000,
  reporter: 'spec',
};
