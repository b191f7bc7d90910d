// delete, suspend, resume and run-now: small verbs on existing objects.
import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';

type NameArgs = GlobalArgs & { name: string };

export const deleteCommand: CommandModule<GlobalArgs, NameArgs & { schedule: boolean; 'delete-clone': boolean }> = {
  command: 'delete <name>',
  describe: "Delete a DataMover and the operator's Job for it (or, with --schedule, a DataMoverSchedule)",
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', demandOption: true })
      .option('schedule', { type: 'boolean', default: false, describe: 'Delete the DataMoverSchedule of that name' })
      .option('delete-clone', {
        type: 'boolean',
        default: false,
        describe: 'Delete the clone PVC the operator made (kept otherwise)',
      }),
  handler: async (argv) => {
    const { runDelete } = await import('../lib/operator/commands.ts');
    await runDelete(contextFrom(argv), argv.name, { schedule: argv.schedule, 'delete-clone': argv['delete-clone'] });
  },
};

function suspendCommand(verb: 'suspend' | 'resume'): CommandModule<GlobalArgs, NameArgs> {
  return {
    command: `${verb} <name>`,
    describe: verb === 'suspend' ? 'Suspend a DataMoverSchedule' : 'Resume a suspended DataMoverSchedule',
    builder: (yargs) => yargs.positional('name', { type: 'string', demandOption: true }),
    handler: async (argv) => {
      const { runSuspend } = await import('../lib/operator/commands.ts');
      await runSuspend(contextFrom(argv), argv.name, verb === 'suspend');
    },
  };
}

export const suspendScheduleCommand = suspendCommand('suspend');
export const resumeScheduleCommand = suspendCommand('resume');

export const runNowCommand: CommandModule<GlobalArgs, NameArgs> = {
  command: 'run-now <name>',
  describe: 'Create a DataMover from a DataMoverSchedule now, as the operator does at a tick',
  builder: (yargs) =>
    yargs.positional('name', { type: 'string', demandOption: true, describe: 'The DataMoverSchedule' }),
  handler: async (argv) => {
    const { runRunNow } = await import('../lib/operator/commands.ts');
    await runRunNow(contextFrom(argv), argv.name);
  },
};
