/** Free local ports for test processes that must be told a port (SIPp). */
import dgram from 'node:dgram';
import net from 'node:net';

async function tryTcp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, host, () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

async function tryUdp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * A port free for both UDP and TCP on `host` at the time of the call. Another process may take it
 * before it is used; callers that can bind port 0 themselves should do that instead.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await tryTcp(0, host);
    if (p === undefined) continue;
    if ((await tryUdp(p, host)) === p) return p;
  }
  throw new Error('no port free for both UDP and TCP');
}

/**
 * A port for a process that must be told its SIP port (SIPp), free for both UDP and TCP, picked
 * below Linux's ephemeral range (32768+) and below freeMediaPort's range: a port from the
 * ephemeral range could be taken between this check and SIPp's bind by any socket bound to port 0
 * meanwhile (the tests' RTP sockets, the doubles' media ports), and SIPp then exits at start.
 */
export async function freeSipPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 12000 + Math.floor(Math.random() * 8000);
    if ((await tryTcp(p, host)) === p && (await tryUdp(p, host)) === p) return p;
  }
  throw new Error('no port free for both UDP and TCP below the ephemeral range');
}

/**
 * A base port for SIPp's media (-mp): SIPp binds the port and the ones above it (RTCP, video),
 * so four consecutive UDP ports must be free. They are picked below Linux's ephemeral range
 * (32768+), where sockets bound to port 0 by this and other tests never land, so nothing else
 * takes them between this check and SIPp's bind.
 */
export async function freeMediaPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + 4 * Math.floor(Math.random() * 3000);
    let ok = true;
    for (let k = 0; k < 4 && ok; k++) ok = (await tryUdp(base + k, host)) === base + k;
    if (ok) return base;
  }
  throw new Error('no four consecutive free UDP ports for SIPp media');
}
