// The fault matrix's restore faults aimed at one run (see faults.test.ts).
import { describeFaults } from '../faults/describe.ts';

describeFaults('fault matrix: faults of one restore', 'restore', (fault) => !fault.stopsBedServer);
