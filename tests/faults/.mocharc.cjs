// The fault matrix's outages of the bed: alone on the bed, since they stop the bed's API
// server and S3 server for everyone (tests/faults/matrix.ts).
module.exports = {
  spec: ['tests/faults/bed-outages.test.ts'],
  extension: ['ts'],
  require: ['tests/e2e/support/hooks.ts'],
  timeout: 300000,
  slow: 10000,
  reporter: 'spec',
};
