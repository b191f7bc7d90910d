// Trusting the storage's TLS certificate: a private CA (--ca-file), or, only
// when asked, no verification at all (with a warning).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';

export function tlsEnv(options: { caFile?: string; insecure?: boolean }, log: Logger): Record<string, string> {
  if (options.caFile && options.insecure)
    throw new UsageError('--ca-file and --insecure-skip-tls-verify contradict each other', 'pass one of them');
  if (options.caFile) {
    if (!existsSync(options.caFile))
      throw new UsageError(
        `--ca-file "${options.caFile}" does not exist`,
        "pass the PEM file of the CA that signed the storage's certificate",
      );
    return { RCLONE_CA_CERT: resolve(options.caFile) };
  }
  if (options.insecure) {
    log.warn(
      "--insecure-skip-tls-verify: the storage's certificate is not checked; " +
        'anyone on the path can read or change the data',
    );
    return { RCLONE_NO_CHECK_CERTIFICATE: 'true' };
  }
  return {};
}
