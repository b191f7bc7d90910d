import type { CommandModule } from 'yargs';
import { completionScript, SHELLS, type Shell } from '../lib/completion/scripts.ts';
import type { GlobalArgs } from './root.ts';

export const completionCommand: CommandModule<GlobalArgs, GlobalArgs & { shell: Shell }> = {
  command: 'completion <shell>',
  describe: 'Print a shell completion script (bash, zsh or fish)',
  builder: (yargs) =>
    yargs.positional('shell', { choices: SHELLS, demandOption: true, describe: 'The shell to complete in' }),
  handler: (argv) => {
    process.stdout.write(completionScript(argv.shell));
  },
};
