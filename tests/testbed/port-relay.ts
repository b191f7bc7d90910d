// One port-forward stream of kwok's, relayed to a port on the pod's loopback: kwok runs this inside
// the pod's network namespace (nsenter) with the stream as stdin and stdout. Nothing listening there
// fails the stream, as a kubelet's port-forward does ("connection refused").
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const socket = connect(port, '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', (err) => {
  process.stderr.write(`port-forward to 127.0.0.1:${port} in the pod: ${err.message}\n`);
  process.exit(1);
});
