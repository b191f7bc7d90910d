// `kubectl datamover check`: is the storage Secret complete, can the local
// rclone list, write and delete in the bucket, and (--in-cluster) can the
// cluster itself reach it. One OK/FAIL line per check; exit 1 on any FAIL.
import { CoreV1Api } from '@kubernetes/client-node';
import type { CommandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { findRclone } from '../rclone/binary.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { destinationFromRemote, destinationFromSecret } from '../destination/destination.ts';
import { destinationOptions } from '../destination/options.ts';
import { checkDestinationListable, checkWriteAndDelete } from '../rclone/probe.ts';
import { checkFromCluster, OPERATOR_RCLONE_IMAGE } from './in-cluster.ts';
import { checkSecretKeys } from './secret-keys.ts';
import { probe, renderCheckResults, type CheckResult } from './result.ts';
import type { StorageSettings } from '../destination/storage-secret.ts';

export interface CheckFlags {
  secret?: string;
  remote?: string;
  env: string[];
  rclone: string;
  'ca-file'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'create-bucket': boolean;
  'in-cluster': boolean;
  image?: string;
  timeout: string;
}

export async function runCheckCommand(ctx: CommandContext, flags: CheckFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  if (flags['in-cluster'] && !flags.secret)
    throw new UsageError('--in-cluster needs --secret', 'the pod reads the storage settings from the Secret');
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  // Every usage error (names, --remote, --env, TLS flags) is thrown here, before any API or storage call.
  const options = destinationOptions(flags, ctx.log);
  const { extraEnv } = options;
  const results: CheckResult[] = [];
  let settings: StorageSettings | undefined;
  let namespace = '';

  if (options.secret) {
    const kube = await ctx.kube();
    namespace = kube.namespace;
    const core = kube.config.makeApiClient(CoreV1Api);
    const name = options.secret;
    const secret = await kube.call({ verb: 'get', resource: 'secrets', name, namespace }, () =>
      core.readNamespacedSecret({ name, namespace }),
    );
    const keys = checkSecretKeys(name, secret.data);
    results.push(...keys.results);
    settings = keys.settings;
  }
  const destination = settings
    ? destinationFromSecret(settings, options.secret!)
    : options.remote
      ? destinationFromRemote(options.remote)
      : undefined;

  if (destination) {
    let binary: string | undefined;
    results.push(
      await probe('local rclone', async () => {
        const found = await findRclone(options.rclonePath);
        binary = found.path;
        return `${found.version}, ${found.path}`;
      }),
    );
    if (binary) {
      const rclone: RcloneContext = { binary, destination, extraEnv, verbosity: ctx.verbosity };
      const list = () =>
        probe('list the bucket from this machine', () =>
          checkDestinationListable(rclone).then(() => destination.display),
        );
      let listed = await list();
      if (!listed.ok && flags['create-bucket'] && /NoSuchBucket/.test(listed.what)) {
        results.push(
          await probe(`create the bucket ${destination.displayRoot}`, () =>
            runRclone(rclone, ['mkdir', destination.root], { what: 'creating the bucket' }).then(() => undefined),
          ),
        );
        listed = await list();
      }
      results.push(listed);
      if (listed.ok)
        results.push(
          await probe('write and delete a test object from this machine', () => checkWriteAndDelete(rclone)),
        );
    }
  }

  if (flags['in-cluster'] && settings) {
    const kube = await ctx.kube();
    results.push(
      ...(await checkFromCluster(kube, {
        namespace,
        secret: options.secret!,
        settings,
        image: flags.image ?? OPERATOR_RCLONE_IMAGE,
        timeoutMs,
      })),
    );
  }

  ctx.out(
    format === 'text'
      ? renderCheckResults(results)
      : await renderStructured({ ok: results.every((r) => r.ok), checks: results }, format),
  );
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}
