import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import { addDestinationFlags } from './destination-flags.ts';
import { addHelperPodFlags } from './helper-pod-flags.ts';
import type { VerifyFlags } from '../lib/verify/command.ts';

export const verifyCommand: CommandModule<GlobalArgs, GlobalArgs & VerifyFlags> = {
  command: 'verify',
  describe: 'Check every object of a backup against its manifest (size, MD5), and optionally against a live PVC',
  builder: (yargs) =>
    addHelperPodFlags(addDestinationFlags(yargs))
      .option('from', { type: 'string', default: 'latest', describe: 'latest, a YYYY-MM-DD-HHMMSS folder, or plain' })
      .option('against-pvc', {
        type: 'string',
        describe: 'Also compare with the files of this PVC (hashed in a helper pod)',
      }) as never,
  handler: async (argv) => {
    const { runVerifyCommand } = await import('../lib/verify/command.ts');
    await runVerifyCommand(contextFrom(argv), argv);
  },
};
