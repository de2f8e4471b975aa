import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that nobody listens on now. It comes from below Linux's ephemeral range
 * (32768–60999): a released ephemeral port can be taken at once as the local port of an outgoing
 * connection, and the engine's bind would then fail. (@dd/testing's freeLoopbackPort is the same
 * rule for packages that may depend on it; @dd/sys is below @dd/testing.)
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = 20000 + randomInt(12000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free TCP port on 127.0.0.1 in 20000..31999 after 64 tries');
}
