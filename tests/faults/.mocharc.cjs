// The fault matrix's outages of the bed: alone on a bed of their own (scripts/e2e.sh brings a second
// one up for them), since they stop that bed's API server and S3 server for everyone on it.
module.exports = {
  spec: ['tests/faults/bed-outages.test.ts'],
  extension: ['ts'],
  require: ['tests/e2e/support/hooks.ts'],
  timeout: 300000,
  slow: 10000,
  reporter: 'spec',
};
