// --transport, for the commands that move a volume's data (backup, restore).
import type { Argv } from 'yargs';

export function addTransportFlag<T>(yargs: Argv<T>, portForward: string) {
  return yargs.option('transport', {
    type: 'string',
    choices: ['exec', 'port-forward'],
    default: 'exec',
    describe: `How data crosses the API server: exec (tar; any image with busybox) or port-forward (${portForward})`,
  });
}
