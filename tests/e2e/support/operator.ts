// Operator mode on the bed: the real DataMover operator (built from its source, see
// tests/testbed/bed.ts) acts only in namespaces labelled for it, where the bed's job-runner
// runs its Job pods for real: useRealOperatorNamespace(). Elsewhere its writes are refused,
// and DataMovers stay as created.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bed, createBoundPvc, kubectl, useNamespace } from './bed.ts';
import { createStorageSecret, emptyBucket } from './storage.ts';

/** Why the real operator is not running on the bed, or undefined when it is. */
export function realOperatorMissing(): string | undefined {
  const operator = bed().operator;
  return 'missing' in operator ? operator.missing : undefined;
}

/**
 * A fresh namespace per test where the real operator acts (and the job-runner runs its Job pods);
 * the tests of the enclosing describe are skipped, with one line saying why, when it does not run.
 */
export function useRealOperatorNamespace(prefix = 'real'): { name: string } {
  before(function () {
    const missing = realOperatorMissing();
    if (missing) {
      process.stderr.write(`      skipped: the real DataMover operator is not running: ${missing}\n`);
      this.skip();
    }
  });
  const ns = useNamespace(prefix);
  beforeEach(async () => {
    const operator = bed().operator;
    if ('namespaceLabel' in operator) await kubectl(['label', 'namespace', ns.name, `${operator.namespaceLabel}=real`]);
  });
  return ns;
}

/** A small tree with what a volume holds: nested folders, an empty file, a name with spaces, a private file. */
export function fillVolume(folder: string): void {
  mkdirSync(join(folder, 'deep', 'er'), { recursive: true });
  writeFileSync(join(folder, 'hello.txt'), 'hello from the PVC\n');
  writeFileSync(join(folder, 'deep', 'er', 'bytes.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251)));
  writeFileSync(join(folder, 'empty'), '');
  writeFileSync(join(folder, 'with spaces.txt'), 'spaces\n');
  // Root's and unreadable by the pod's user (65534) but for the volume's fsGroup, as on a real node.
  writeFileSync(join(folder, 'private.key'), 'secret bytes\n');
  chmodSync(join(folder, 'private.key'), 0o600);
}

/**
 * A fresh namespace per test where the real operator acts, holding PVC "data" (filled by fillVolume)
 * and Secret "s3" for the bed's storage, and an empty bucket; `volume.folder` is the PVC's folder.
 */
export function useRealOperatorVolume(): { ns: { name: string }; volume: { folder: string } } {
  const ns = useRealOperatorNamespace();
  const volume = { folder: '' };
  beforeEach(async () => {
    emptyBucket();
    volume.folder = await createBoundPvc(ns.name, 'data');
    fillVolume(volume.folder);
    // The operator's entrypoint defaults differ from the plugin's (TLS_HOST true, BUCKET_PORT 443): all explicit.
    await createStorageSecret(ns.name, 's3', { TLS_HOST: 'false' });
  });
  return { ns, volume };
}
