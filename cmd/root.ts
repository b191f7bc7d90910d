// kubectl's global flags, registered once for every command and resolved
// once into the context that the command's logic receives.
import type { Argv } from 'yargs';
import { createContext, type CommandContext } from '../lib/context.ts';
import { parseDuration } from '../lib/format/duration.ts';

export interface GlobalArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  'all-namespaces': boolean;
  output?: string;
  v: number;
  'request-timeout': string;
}

export function addGlobalFlags<T>(yargs: Argv<T>): Argv<T & GlobalArgs> {
  return yargs
    .option('kubeconfig', { type: 'string', global: true, describe: 'Path to the kubeconfig file to use' })
    .option('context', { type: 'string', global: true, describe: 'The name of the kubeconfig context to use' })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      global: true,
      describe: 'The namespace (default: the context\'s, else "default")',
    })
    .option('all-namespaces', {
      alias: 'A',
      type: 'boolean',
      global: true,
      default: false,
      describe: 'List across all namespaces, where supported',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      global: true,
      describe: 'Output format: json|yaml|wide|name, where supported',
    })
    .option('v', {
      type: 'number',
      global: true,
      default: 0,
      describe: 'Log level (kubectl style): 4 debug, 6 requests and stack traces',
    })
    .option('request-timeout', {
      type: 'string',
      global: true,
      default: '0',
      describe: 'How long to wait for each API request (e.g. 30s); 0 waits forever',
    })
    .group(
      ['kubeconfig', 'context', 'namespace', 'all-namespaces', 'output', 'v', 'request-timeout', 'help'],
      'Global flags:',
    ) as Argv<T & GlobalArgs>;
}

/** The global flags, parsed once into the options object every command's context is built from. */
export function contextFrom(argv: GlobalArgs): CommandContext {
  return createContext({
    kubeconfig: argv.kubeconfig,
    context: argv.context,
    namespace: argv.namespace,
    kubeconfigEnv: process.env.KUBECONFIG,
    requestTimeoutMs: parseDuration(argv['request-timeout'], '--request-timeout'),
    verbosity: Number.isFinite(argv.v) ? argv.v : 0,
    output: argv.output,
    allNamespaces: argv['all-namespaces'],
  });
}
