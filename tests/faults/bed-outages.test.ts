// The fault matrix's cases that stop a server of the whole bed (the API server, the S3
// server): run alone on a bed of their own (see tests/faults/.mocharc.cjs and scripts/e2e.sh).
import { describeFaults } from './describe.ts';

describeFaults('fault matrix: outages of the bed', 'any', (fault) => fault.stopsBedServer === true);
