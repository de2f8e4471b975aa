import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

// Listen ports come from below Linux's default ephemeral range (32768–60999). A port the kernel
// hands out for `listen(0)` is an ephemeral one, and once released it can be taken again at any
// moment as the local port of an outgoing connection (the tests make many), so binding it a moment
// later fails now and then with EADDRINUSE. Ports in this range are never assigned implicitly.
const LOWEST = 20000;
const COUNT = 12000;
const ATTEMPTS = 64;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that nobody listens on now, picked at random below the ephemeral range,
 * so that no outgoing connection takes it before the caller binds it.
 */
export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + randomInt(COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${LOWEST}..${LOWEST + COUNT - 1} after ${ATTEMPTS} tries`);
}
