// Running rclone: credentials only in its environment, never in argv; its
// failures turned into one line that says what to fix (the operator's
// documented S3 errors first).
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { parseStatsLine, STATS_ARGS } from './stats.ts';
import type { Destination } from '../destination/destination.ts';

export interface RcloneContext {
  binary: string;
  destination: Destination;
  /** --env settings, like the operator's additionalEnv. */
  extraEnv: Record<string, string>;
  verbosity: number;
  signal?: AbortSignal;
}

const KNOWN_ERRORS: Array<[RegExp, string, string]> = [
  [
    /InvalidAccessKeyId|NoCredentialProviders|NoCredentialsErr|no EC2 IMDS role found/,
    'the storage rejected the access key',
    'check AWS_ACCESS_KEY_ID in the Secret (or your remote)',
  ],
  [
    /SignatureDoesNotMatch/,
    'the storage rejected the secret key (SignatureDoesNotMatch)',
    'check AWS_SECRET_ACCESS_KEY in the Secret (or your remote)',
  ],
  [
    /NoSuchBucket|bucket does not exist|directory not found/,
    'the bucket does not exist (NoSuchBucket)',
    'fix BUCKET_NAME, or create the bucket with "kubectl datamover check --secret NAME --create-bucket"',
  ],
  [
    /AccessDenied|Access Denied|403 Forbidden/,
    'the storage denied access (AccessDenied)',
    'give the key read/write rights on the bucket',
  ],
  // What S3 servers without per-key policies (rclone serve s3 --read-only, some gateways) answer a refused write.
  [
    /InternalError: Internal Error/,
    'the storage refused the request (500 InternalError)',
    "check that the key may write to the bucket (read-only keys get this on some servers), then the storage's log",
  ],
  [
    /certificate signed by unknown authority|x509:/,
    "the storage's TLS certificate is not trusted",
    'pass --ca-file with its CA, or check TLS_HOST',
  ],
  [
    /server gave HTTP response to HTTPS client/,
    'the storage speaks plain HTTP but TLS_HOST is true',
    'set TLS_HOST to false',
  ],
  [
    /malformed HTTP response|http: server gave|tls: first record does not look like/,
    'the storage speaks HTTPS but TLS_HOST is false',
    'set TLS_HOST to true',
  ],
  // What an HTTPS endpoint answers to plain HTTP (Go's TLS servers, and most proxies).
  [
    /BadRequest: Bad Request|Client sent an HTTP request to an HTTPS server/,
    'the storage answered 400 Bad Request, which is what an HTTPS endpoint says to plain HTTP',
    'if the endpoint uses TLS, set TLS_HOST to true',
  ],
  [
    /connection refused/,
    'the storage refused the connection',
    'check BUCKET_HOST and BUCKET_PORT, and that the endpoint is up',
  ],
  [
    /i\/o timeout|context deadline exceeded|no such host|dial tcp/,
    'the storage endpoint cannot be reached',
    'check BUCKET_HOST, BUCKET_PORT and your network',
  ],
  [
    /no space left on device|file too big for remaining disk space/,
    'no space left on device',
    'free space on the destination, or in the local staging folder ' +
      '(backup: --staging-dir; restore: TMPDIR, or a lower --batch-size)',
  ],
  [
    /didn't find section in config file|Failed to create file system for .*: didn't find/,
    'the rclone remote is not defined',
    'check the remote name with "rclone listremotes"',
  ],
];

/**
 * rclone's environment: the caller's, plus the remote's definition and --env.
 * AWS_CA_BUNDLE is handed over as rclone's own --ca-cert instead: rclone up to
 * at least 1.60 fails every S3 request ("LoadCustomCABundleError") when the
 * AWS SDK sees it, and the trust it asks for is the same.
 */
export function rcloneEnv(
  ctx: RcloneContext,
  inherited: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...inherited, ...ctx.destination.env, ...ctx.extraEnv };
  // Many small objects are latency-bound: more parallel uploads than rclone's 4.
  env.RCLONE_TRANSFERS ??= '8';
  // rclone retries a failed operation 3 times, by default at once: 2 s apart, a
  // storage endpoint that restarts is ridden out (checks pass --retries 1).
  env.RCLONE_RETRIES_SLEEP ??= '2s';
  if (env.AWS_CA_BUNDLE) {
    env.RCLONE_CA_CERT ??= env.AWS_CA_BUNDLE;
    delete env.AWS_CA_BUNDLE;
  }
  // -v=4 and above show rclone's own log (an explicit RCLONE_LOG_LEVEL wins);
  // what it prints on stderr is redacted by runRclone.
  if (!env.RCLONE_LOG_LEVEL && ctx.verbosity >= 8) env.RCLONE_LOG_LEVEL = 'DEBUG';
  else if (!env.RCLONE_LOG_LEVEL && ctx.verbosity >= 4) env.RCLONE_LOG_LEVEL = 'INFO';
  return env;
}

export interface RcloneCall {
  /** stdin: a --files-from-raw list is bytes (names need not be UTF-8), or a stream (rcat). */
  input?: string | Uint8Array | Readable;
  what: string;
  /** Told the bytes moved so far, every half second while a transfer runs (rclone's stats line). */
  onProgress?: (bytes: number) => void;
  /** Takes stdout as a stream instead of keeping it (`rclone cat` of a large object). */
  onStdout?: (stdout: Readable) => void;
}

export async function runRclone(ctx: RcloneContext, args: string[], options: RcloneCall): Promise<string> {
  return (await execRclone(ctx, args, options, 'utf8')) as string;
}

/** runRclone, with stdout as bytes: rclone prints names that are not UTF-8 as their raw bytes. */
export async function runRcloneForBytes(ctx: RcloneContext, args: string[], options: RcloneCall): Promise<Buffer> {
  return Buffer.from((await execRclone(ctx, args, options, 'buffer')) as Uint8Array);
}

async function execRclone(
  ctx: RcloneContext,
  args: string[],
  options: RcloneCall,
  encoding: 'utf8' | 'buffer',
): Promise<string | Uint8Array> {
  try {
    const child = execa(ctx.binary, options.onProgress ? [...args, ...STATS_ARGS] : args, {
      env: rcloneEnv(ctx),
      extendEnv: false,
      input: options.input,
      cancelSignal: ctx.signal,
      encoding,
      buffer: { stdout: !options.onStdout },
    });
    if (options.onStdout) options.onStdout(child.stdout);
    if (ctx.verbosity >= 4) {
      // rclone's debug log names the settings it read from the environment, values included.
      const redact = redactor(Object.values(ctx.destination.env).filter((v) => v.length >= 6));
      child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(redact(chunk.toString('utf8'))));
    }
    if (options.onProgress) followStats(child.stderr, options.onProgress);
    const result = await child;
    return result.stdout ?? '';
  } catch (err) {
    throw describeRcloneFailure(err, options.what);
  }
}

function followStats(stderr: Readable | null, onProgress: (bytes: number) => void): void {
  let partial = '';
  stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const bytes = parseStatsLine(line);
      if (bytes !== undefined) onProgress(bytes);
    }
  });
}

export function redactor(secrets: string[]): (text: string) => string {
  return (text) => secrets.reduce((out, secret) => out.split(secret).join('<redacted>'), text);
}

/** The operator's documented storage errors, recognised in rclone's log. */
export function knownRcloneError(stderr: string): { message: string; fix: string } | undefined {
  const match = KNOWN_ERRORS.find(([pattern]) => pattern.test(stderr));
  return match && { message: match[1], fix: match[2] };
}

export function describeRcloneFailure(err: unknown, what: string): UserError {
  const failure = err as { stderr?: string | Uint8Array; isCanceled?: boolean; shortMessage?: string; code?: string };
  if (failure.isCanceled) return new UserError(`${what} was interrupted`, 'run the command again', { cause: err });
  if (failure.code === 'ENOENT')
    return new UserError('rclone was not found', 'install rclone >= 1.60 or pass --rclone PATH', { cause: err });
  const stderr =
    failure.stderr instanceof Uint8Array ? Buffer.from(failure.stderr).toString() : String(failure.stderr ?? '');
  const known = knownRcloneError(stderr);
  if (known) return new UserError(`${what} failed: ${known.message}`, known.fix, { cause: err });
  const lastError = stderr
    .split('\n')
    .reverse()
    .find((line) => /ERROR|Failed/.test(line));
  return new UserError(
    `${what} failed${lastError ? `: ${lastError.replace(/^.*?(ERROR|Failed)\s*:?\s*/, '').slice(0, 200)}` : ''}`,
    "rerun with -v=4 to see rclone's log",
    { cause: err },
  );
}
