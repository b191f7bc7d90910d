// The log of the bed's small controllers (provisioner, job-runner): one line each, with its time.
// Their loop is informers.ts reconcileOnChange.
export function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}
