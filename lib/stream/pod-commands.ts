// The helper pod's two questions, asked the same way by backup, restore and
// verify: what files the volume holds, and their MD5 sums.
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { UserError } from '../errors.ts';
import { captureFromPod, captureFromPodOrFail, runInPod, stderrLastLine } from './exec-channel.ts';
import { withResumes } from './resume.ts';
import { StreamCut } from './tar-out.ts';
import {
  LIST_COMMAND,
  MD5_COMMAND,
  MD5_EACH_COMMAND,
  Md5LineReader,
  nulList,
  parseListing,
  parseMd5Output,
  type PodListing,
} from './pod-files.ts';

export interface PodTarget {
  namespace: string;
  pod: string;
  signal?: AbortSignal;
}

const UNREADABLE = 'check that the files are readable by the helper pod';

export interface ListingResult extends PodListing {
  /** find's last error when it could not list everything (a folder it may not read), else undefined. */
  error?: string;
}

/**
 * Attempts at a command whose output was cut short (the API server can report such an exec as a success):
 * a listing without its end mark is taken again 1 s, then 2 s later; sums missing are asked for again.
 */
const CUT_OUTPUT_ATTEMPTS = 3;

/** Everything find could list; `error` says when that is not everything. */
export async function listPodFiles(kube: KubeConnection, target: PodTarget): Promise<ListingResult> {
  for (let attempt = 1; ; attempt++) {
    const { stdout, result } = await captureFromPod(kube, {
      ...target,
      container: HELPER_CONTAINER,
      command: LIST_COMMAND,
    });
    // Output cut short, however it was reported, ends without the end mark (or inside a record).
    const listing = attempt < CUT_OUTPUT_ATTEMPTS ? completeListing(stdout) : parseListing(stdout);
    if (listing?.complete && result.exitCode === 0) return listing;
    if (listing?.complete) return { ...listing, error: stderrLastLine(result) || `exit code ${result.exitCode}` };
    if (attempt === CUT_OUTPUT_ATTEMPTS)
      throw new UserError(
        `the file listing from helper pod ${target.pod} was cut short ${attempt} times`,
        'check the API server and the helper pod, then run the command again',
      );
    await sleep(1000 * attempt, undefined, { signal: target.signal });
  }
}

/** The listing in `output`, or undefined when it was cut inside a record. */
function completeListing(output: Buffer): PodListing | undefined {
  try {
    return parseListing(output);
  } catch {
    return undefined;
  }
}

/** The pod's MD5 of each of `paths` (one missing when its output was cut short CUT_OUTPUT_ATTEMPTS times). */
export async function hashPodFiles(
  kube: KubeConnection,
  target: PodTarget,
  paths: string[],
): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (let attempt = 1; attempt <= CUT_OUTPUT_ATTEMPTS; attempt++) {
    const left = paths.filter((path) => !sums.has(path));
    if (left.length === 0) break;
    // md5sum exits 0 only once it has read every file: a sum missing then was cut from its output.
    const stdout = await captureFromPodOrFail(
      kube,
      { ...target, container: HELPER_CONTAINER, command: MD5_COMMAND, stdin: Readable.from([nulList(left)]) },
      { what: 'md5sum', fix: UNREADABLE },
    );
    for (const [path, sum] of parseMd5Output(stdout, left)) sums.set(path, sum);
  }
  return sums;
}

/**
 * The pod's MD5 of each of `paths`, computed while the transfer runs: md5sum walks the list in the
 * order tar streams it, so a file's sum is usually known before the file has finished arriving.
 */
export class PodChecksums {
  readonly sums = new Map<string, string>();
  /** Every sum, once md5sum has ended; fails as hashPodFiles does (a file it could not read). */
  readonly done: Promise<Map<string, string>>;
  private readonly waiting = new Map<string, (sum: string) => void>();
  private readonly stopped = new AbortController();

  constructor(kube: KubeConnection, target: PodTarget, paths: string[]) {
    this.done = this.run(kube, target, paths);
    this.done.catch(() => undefined); // whoever needs the sums hears of the failure
  }

  /** The pod's sum of `path`, as soon as md5sum has printed it (undefined if it never does). */
  of(path: string): Promise<string | undefined> {
    const sum = this.sums.get(path);
    if (sum !== undefined) return Promise.resolve(sum);
    return Promise.race([
      new Promise<string>((resolve) => this.waiting.set(path, resolve)),
      this.done.then((sums) => sums.get(path)),
    ]);
  }

  /** Ends md5sum early (the transfer failed). */
  stop(): void {
    this.stopped.abort();
  }

  private async run(kube: KubeConnection, target: PodTarget, paths: string[]): Promise<Map<string, string>> {
    if (paths.length === 0) return this.sums;
    const signal = AbortSignal.any([this.stopped.signal, ...(target.signal ? [target.signal] : [])]);
    // A cut stream (an API server restart) is resumed as the transfer's is, for the files without a sum.
    const policy = {
      resumable: (err: unknown) => err instanceof StreamCut,
      during: 'while summing the files',
      fix: 'nothing was reported as backed up; check the API server and the helper pod, then run the command again',
      resumesWith: 'the checksums',
    };
    const context = { kube, namespace: target.namespace, pod: target.pod, signal, report: () => undefined };
    await withResumes(context, policy, async () => {
      const left = paths.filter((path) => !this.sums.has(path));
      const reader = new Md5LineReader(left, (path, sum) => {
        this.sums.set(path, sum);
        this.waiting.get(path)?.(sum);
        this.waiting.delete(path);
      });
      const stdout = new Writable({
        write(chunk: Buffer, _encoding, done) {
          reader.push(chunk);
          done();
        },
      });
      const stdin = Readable.from([nulList(left)]);
      const command = { ...target, signal, container: HELPER_CONTAINER, command: MD5_EACH_COMMAND, stdin, stdout };
      const result = await runInPod(kube, command).catch((err: unknown) => {
        throw new StreamCut((err as Error).message, { cause: err });
      });
      if (result.exitCode !== 0)
        throw new UserError(`md5sum failed in the helper pod: ${stderrLastLine(result)}`, UNREADABLE);
      // md5sum read every file (it exited 0): a sum missing is output cut short, reported as a success.
      const missing = left.filter((path) => !this.sums.has(path)).length;
      if (missing > 0) throw new StreamCut(`md5sum's output ended ${missing} sums early`);
    });
    return this.sums;
  }
}
