// Flags → validated options → the local backup flow → output.
import type { CommandContext } from '../context.ts';
import { parseDuration } from '../format/duration.ts';
import { parseSize, formatBytes } from '../format/size.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { parseEnvFlags } from '../destination/destination.ts';
import { tuningEnv } from '../destination/profiles.ts';
import { tlsEnv } from '../destination/tls.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_HELPER_IMAGE } from '../kube/helper-pod.ts';
import { helperResources } from '../kube/resources.ts';
import { PhaseClock } from '../metrics/phase-clock.ts';
import { parsePushgatewayUrl, publishRunMetrics } from '../metrics/sinks.ts';
import { runLocalBackup, type LocalBackupOptions, type LocalBackupResult } from './local-backup.ts';

export interface BackupFlags {
  pvc: string;
  secret?: string;
  remote?: string;
  'timestamp-prefix': boolean;
  env: string[];
  clone: boolean;
  'keep-clone': boolean;
  'helper-image'?: string;
  rclone: string;
  timeout: string;
  'staging-cap': string;
  'staging-dir'?: string;
  encrypt?: boolean;
  'password-secret'?: string;
  passwordEnv?: string;
  profile?: string;
  bwlimit?: string;
  'ca-file'?: string;
  'insecure-skip-tls-verify'?: boolean;
  requests?: string;
  limits?: string;
  'metrics-file'?: string;
  pushgateway?: string;
}

export function backupOptions(flags: BackupFlags, namespace: string, log: Logger): LocalBackupOptions {
  return {
    pvc: flags.pvc,
    namespace,
    secret: flags.secret,
    remote: flags.remote,
    timestampPrefix: flags['timestamp-prefix'],
    clone: flags.clone,
    keepClone: flags['keep-clone'],
    helperImage: flags['helper-image'] ?? DEFAULT_HELPER_IMAGE,
    resources: helperResources(flags.requests, flags.limits),
    rclonePath: flags.rclone,
    extraEnv: {
      ...tlsEnv({ caFile: flags['ca-file'], insecure: flags['insecure-skip-tls-verify'] }, log),
      ...tuningEnv(flags.profile, flags.bwlimit, parseEnvFlags(flags.env.map(String))),
    },
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
    stagingCapBytes: parseSize(flags['staging-cap'], '--staging-cap'),
    stagingParent: flags['staging-dir'],
    encrypt: flags.encrypt,
    passwordSecret: flags['password-secret'],
    passwordEnv: flags.passwordEnv,
  };
}

export async function runBackupCommand(ctx: CommandContext, flags: BackupFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const kube = await ctx.kube();
  const options = backupOptions(flags, kube.namespace, ctx.log);
  if (flags.pushgateway !== undefined) parsePushgatewayUrl(flags.pushgateway);
  const progress = chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) });
  const phases = new PhaseClock();
  let result: LocalBackupResult | undefined;
  try {
    result = await runLocalBackup(kube, { ...options, phases }, progress, ctx.log);
  } finally {
    if (flags['metrics-file'] || flags.pushgateway) {
      const run = {
        status: result ? ('success' as const) : ('failure' as const),
        finishedAt: Math.floor(Date.now() / 1000),
        bytesTransferred: result?.bytesSent ?? 0,
        filesTransferred: result?.filesSent ?? 0,
        phases,
      };
      await publishRunMetrics(
        { file: flags['metrics-file'], pushgateway: flags.pushgateway },
        run,
        { namespace: kube.namespace, pvc: flags.pvc },
        (line) => ctx.log.warn(line),
      );
    }
  }
  ctx.out(format === 'text' ? renderBackupText(result) : await renderStructured(result, format));
}

export function renderBackupText(r: LocalBackupResult): string {
  return [
    `Backed up PVC ${r.namespace}/${r.pvc} to ${r.target} (${r.destination})`,
    `  files: ${r.files} (${r.filesSent} sent, ${r.filesUnchanged} unchanged, ${r.filesSeeded} copied server-side, ${r.filesDeleted} deleted at the destination)`,
    `  bytes: ${formatBytes(r.bytesSent)} sent, ${formatBytes(r.bytesSkipped)} skipped; checksums ${r.checksums}; ${r.durationSeconds}s`,
    '',
  ].join('\n');
}
