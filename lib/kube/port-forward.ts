// A port of a pod on a local port, as `kubectl port-forward` does: each local connection is one
// port-forward stream through the API server (client-node's PortForward), with real backpressure both
// ways: client-node writes what arrives without looking at the return value, so a full socket pauses
// the websocket (as for exec: lib/stream/exec-channel.ts), and a websocket that holds too much unsent
// pauses the socket (websocket-backpressure.ts).
// Listens on 127.0.0.1 only. While it is open, dead Buffers are collected (buffer-collector.ts): a port-forward
// carries gigabytes in chunks that V8 would otherwise keep for a while.
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import type { KubeConnection } from './connection.ts';
import { limitUnsent } from './websocket-backpressure.ts';
import { collectDeadBuffers } from './buffer-collector.ts';

export interface LocalPort {
  /** The local port (on 127.0.0.1) that reaches the pod's port. */
  port: number;
  /** The last error the API server or the kubelet gave for a stream ("connection refused"), if any. */
  lastError(): string | undefined;
  /** Forgets the last error (once the pod's server answers, an earlier "connection refused" explains nothing). */
  clearError(): void;
  close(): Promise<void>;
}

export async function forwardPort(
  kube: KubeConnection,
  target: { namespace: string; pod: string; port: number },
): Promise<LocalPort> {
  const forward = new PortForward(kube.config);
  const sockets = new Set<Socket>();
  let lastError: string | undefined;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // The kubelet's error channel: a message there ends the stream.
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // The channel's first message is only its port number (client-node passes it on empty).
        const text = chunk.toString('utf8').trim();
        if (text) {
          lastError = text;
          socket.destroy();
        }
        done();
      },
    });
    forward
      .portForward(target.namespace, target.pod, [target.port], socket, errors, socket)
      .then((opened) => {
        const ws = typeof opened === 'function' ? opened() : opened;
        if (!ws) return socket.destroy();
        // The local side went away while the stream opened: nothing will close it else.
        if (socket.destroyed) return ws.terminate();
        ws.on('message', () => {
          if (socket.writableNeedDrain && !ws.isPaused) {
            ws.pause();
            socket.once('drain', () => ws.resume());
          }
        });
        ws.on('close', () => socket.end());
        ws.on('error', (err: Error) => {
          lastError = err.message;
          socket.destroy();
        });
        socket.on('close', () => ws.close());
        limitUnsent(ws, socket);
      })
      .catch((err: Error) => {
        lastError = err.message;
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const stopCollecting = collectDeadBuffers();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    lastError: () => lastError,
    clearError: () => {
      lastError = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopCollecting();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
