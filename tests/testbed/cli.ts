// npm run testbed -- up | down | env | status
import { readFileSync } from 'node:fs';
import { down, readBed, up } from './bed.ts';
import { statePaths } from './paths.ts';

const log = (line: string) => process.stderr.write(`[testbed] ${line}\n`);
const command = process.argv[2];

switch (command) {
  case 'up':
    await up(log);
    break;
  case 'down':
    await down(log);
    break;
  case 'env':
  case 'status': {
    const bed = readBed();
    if (!bed) {
      log('the bed is not up; run: npm run testbed -- up');
      process.exitCode = 1;
    } else if (command === 'env') {
      process.stdout.write(readFileSync(statePaths().envFile, 'utf8'));
    } else {
      log(
        `up: kubeconfig ${bed.kubeconfig}, S3 ${bed.s3.endpoint} (TLS ${bed.s3.tlsEndpoint}), bucket ${bed.s3.bucket}`,
      );
    }
    break;
  }
  default:
    log('usage: npm run testbed -- up | down | env | status');
    process.exitCode = 2;
}
