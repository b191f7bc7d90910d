// The fault matrix (tests/faults/matrix.ts), one test per fault and operation:
// the fault happened, the faulted run kept the README's promise for it (resumed,
// recovered, or failed cleanly leaving nothing partial), judged before any
// re-run, and the re-run lost no byte. scripts/fault-matrix.ts runs the same
// cases and writes the table in docs/reliability.md.
// This file holds the backup faults aimed at one run (its processes, its pod, its PVC),
// which run beside other tests (faults-restore.test.ts the restore ones); those that stop
// a server of the whole bed run alone, from tests/faults/bed-outages.test.ts.
import { describeFaults } from '../faults/describe.ts';

describeFaults('fault matrix: faults of one backup', 'backup', (fault) => !fault.stopsBedServer);
