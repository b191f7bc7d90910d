// The CLI entry: global flags, the commands, and the single error path.
import yargs from 'yargs';
import { addGlobalFlags } from './root.ts';
import { versionCommand } from './version.ts';
import { completionCommand } from './completion.ts';
import { checkCommand } from './check.ts';
import { checkAccessCommand } from './check-access.ts';
import { backupCommand } from './backup.ts';
import { restoreCommand } from './restore.ts';
import { backupsCommand, pruneCommand } from './backups.ts';
import { verifyCommand } from './verify.ts';
import { createCommand } from './create.ts';
import { statusCommand } from './status.ts';
import { logsCommand } from './logs.ts';
import { deleteCommand, resumeScheduleCommand, runNowCommand, suspendScheduleCommand } from './schedule-actions.ts';
import { installStrayErrorHandler } from '../lib/stray-errors.ts';
import { formatErrorLine, formatErrorTrace, exitCodeOf, TRACE_VERBOSITY, UsageError } from '../lib/errors.ts';

const COMMANDS = [
  'create',
  'status',
  'logs',
  'delete',
  'suspend',
  'resume',
  'run-now',
  'backup',
  'restore',
  'backups',
  'prune',
  'verify',
  'check',
  'check-access',
  'version',
  'completion',
];

export async function main(args: string[]): Promise<number> {
  const cli = addGlobalFlags(yargs(args))
    .scriptName('kubectl datamover')
    .usage(
      'Back up PersistentVolumeClaims to S3-compatible storage, with the DataMover operator ' +
        'or locally through the Kubernetes API.\n\nUsage: $0 <command> [flags]',
    )
    .command(createCommand)
    .command(statusCommand)
    .command(logsCommand)
    .command(deleteCommand)
    .command(suspendScheduleCommand)
    .command(resumeScheduleCommand)
    .command(runNowCommand)
    .command(backupCommand)
    .command(restoreCommand)
    .command(backupsCommand)
    .command(pruneCommand)
    .command(verifyCommand)
    .command(checkCommand)
    .command(checkAccessCommand)
    .command(versionCommand)
    .command(completionCommand)
    .completion('__complete', false)
    .demandCommand(1, 'a command is required')
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((message, error) => {
      if (error) throw error;
      const command = args.find((a) => !a.startsWith('-'));
      const known = command !== undefined && COMMANDS.includes(command);
      if (command !== undefined && !known)
        throw new UsageError(`unknown command "${command}"`, 'see "kubectl datamover --help" for the commands');
      throw new UsageError(message, `see "kubectl datamover ${known ? `${command} ` : ''}--help"`);
    });
  installStrayErrorHandler((err) => process.exit(reportFailure(err, args)));
  try {
    await cli.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportFailure(err, args);
  }
}

/** The one error report: a line on stderr (a trace too at -v=6), and the exit code. */
function reportFailure(err: unknown, args: string[]): number {
  process.stderr.write(`${formatErrorLine(err)}\n`);
  if (verbosityOf(args) >= TRACE_VERBOSITY) process.stderr.write(`${formatErrorTrace(err)}\n`);
  return exitCodeOf(err);
}

// The error path must work even when parsing failed, so -v is read directly.
function verbosityOf(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const match = /^--?v(?:=(\d+))?$/.exec(args[i]!);
    if (match) return Number(match[1] ?? args[i + 1] ?? 0);
  }
  return 0;
}
