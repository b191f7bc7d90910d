// The destination flags every storage command shares, completed and validated
// once (kubectl's complete → validate → run): nothing here talks to the cluster
// or to storage, so every usage error exits 2 before anything is called.
import { UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { destinationFromRemote, parseEnvFlags } from './destination.ts';
import { tuningEnv } from './profiles.ts';
import { tlsEnv } from './tls.ts';
import { validateName } from '../kube/names.ts';

/** The flags as yargs gives them (cmd/destination-flags.ts declares them). */
export interface DestinationFlags {
  secret?: string;
  remote?: string;
  env: string[];
  rclone: string;
  encrypt?: boolean;
  'password-secret'?: string;
  passwordEnv?: string;
  'ca-file'?: string;
  'insecure-skip-tls-verify'?: boolean;
  profile?: string;
  bwlimit?: string;
}

export interface DestinationOptions {
  secret?: string;
  remote?: string;
  rclonePath: string;
  /** RCLONE_* settings: TLS, tuning profile, bandwidth limit and --env, the last winning. */
  extraEnv: Record<string, string>;
  encrypt?: boolean;
  passwordSecret?: string;
  passwordEnv?: string;
}

export function destinationOptions(flags: DestinationFlags, log: Logger): DestinationOptions {
  if (!flags.secret && !flags.remote) throw new UsageError('no destination given', 'pass --secret NAME or --remote R');
  if (flags.secret !== undefined) validateName(flags.secret, '--secret');
  if (flags.remote !== undefined) destinationFromRemote(flags.remote);
  const explicit = parseEnvFlags((flags.env ?? []).map(String));
  return {
    secret: flags.secret,
    remote: flags.remote,
    rclonePath: flags.rclone,
    extraEnv: {
      ...tlsEnv({ caFile: flags['ca-file'], insecure: flags['insecure-skip-tls-verify'] }, log),
      ...tuningEnv(flags.profile, flags.bwlimit, explicit),
    },
    encrypt: flags.encrypt,
    passwordSecret: flags['password-secret'],
    passwordEnv: flags.passwordEnv,
  };
}
