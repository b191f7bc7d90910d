// The fault matrix's cases that stop a server of the whole bed (the API server, the S3
// server): run alone, after the rest of the e2e suite (see tests/faults/.mocharc.cjs).
import { describeFaults } from './describe.ts';

describeFaults('fault matrix: outages of the bed', 'any', (fault) => fault.stopsBedServer === true);
