/**
 * Two gateway processes on one drachtio and one real redis-server (state.backend redis): what
 * one instance learns, the other knows. An expert registers through whichever instance drachtio
 * picks; GnuGk's LRQ then gets LCF from BOTH instances' RAS sockets, and after un-REGISTER, LRJ
 * from both. /health shows the shared state backend.
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { injectionFile } from '../../lab/scenarios.js';
import { labPerson, writeRegistry } from '../../lab/policy-lab.js';
import { RedisServer, testRedis } from '../../lab/redis-server.js';
import { UdpPeer, rasFixture } from '../../lab/h323/udp-peer.js';
import { decodeRas, encodeRas, aliasFromString } from '../../../lib/h323/ras/messages.js';

const REALM = 'council.test';

describe('two gateway instances sharing state on Redis', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let redis: { url: string; server?: RedisServer };
  let gk: UdpPeer;
  const gws: GatewayProcess[] = [];
  const alice = labPerson('Alice', REALM);

  before(async () => {
    target = await startDrachtioTarget();
    redis = await testRedis();
    gk = await UdpPeer.open('127.0.0.1');
    const reg = writeRegistry([alice]);
    for (let i = 0; i < 2; i++) {
      const gw = await startGateway({
        config: {
          drachtio: { host: target.host, port: target.port },
          policy: { realm: REALM, digestAlgorithms: ['MD5', 'SHA-256'] },
          registry: { file: reg.file },
          audit: { dir: mkdtempSync(join(tmpdir(), `gw${i}-audit-`)) },
          state: { backend: 'redis', keyPrefix: `gw:test:${process.pid}:` },
          h323: {
            ras: { host: '127.0.0.1', port: 0 },
            callSignalAddress: { host: '127.0.0.1', port: 1720 },
            neighbours: [{ name: 'GK', host: '127.0.0.1' }],
          },
        },
        // One nonce secret for both: a challenge from one instance is answered at the other.
        env: { DRACHTIO_SECRET: target.secret, POLICY_NONCE_SECRET: 'shared', REDIS_URL: redis.url },
      });
      await gw.waitForOutput(/connected to drachtio-server/);
      gws.push(gw);
    }
  });

  after(async () => {
    for (const gw of gws) await gw.stop('SIGTERM');
    stopAllSipp();
    await gk?.close();
    await redis?.server?.stop();
    await target?.stop();
  });

  async function lrq(gwRas: number, seq: number): Promise<string> {
    const m = decodeRas(rasFixture('s1a-ep-ras-and-neighbour-lrq-noreply', '0006'));
    if (m.choice !== 'locationRequest') throw new Error('fixture is not an LRQ');
    m.value.destinationInfo = [aliasFromString('alice')];
    m.value.replyAddress = { choice: 'ipAddress', value: { ip: Uint8Array.from([127, 0, 0, 1]), port: gk.port } };
    m.value.requestSeqNum = seq;
    await gk.send(encodeRas(m), { host: '127.0.0.1', port: gwRas });
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      gk.next(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no RAS reply')), 5000); }),
    ]).finally(() => clearTimeout(timer));
    const got = decodeRas(reply.bytes);
    return got.choice === 'locationReject' ? `LRJ ${(got.value.rejectReason as { choice: string }).choice}` : got.choice === 'locationConfirm' ? 'LCF' : got.choice;
  }

  const sipp = (scenario: string) =>
    runSipp({ target: `${target.sipHost}:${target.sipPort}`, scenario, calls: 1, auth: { user: alice.username, password: alice.password }, args: ['-inf', injectionFile([[alice.username]])] });

  it('a registration made through one instance is seen by both (LCF from each RAS socket), and its removal too', async () => {
    expect((await gws[0]!.health()).body.checks.state).to.deep.equal({ ok: true, detail: 'redis up' });
    expect(await lrq(gws[0]!.rasPort, 201)).to.equal('LRJ notRegistered');
    expect(await lrq(gws[1]!.rasPort, 202)).to.equal('LRJ notRegistered');
    const reg = await sipp('policy/register.xml');
    expect(reg.exitCode, reg.messages.slice(-2000)).to.equal(0);
    expect(await lrq(gws[0]!.rasPort, 203)).to.equal('LCF');
    expect(await lrq(gws[1]!.rasPort, 204)).to.equal('LCF');
    const unreg = await sipp('policy/unregister.xml');
    expect(unreg.exitCode, unreg.messages.slice(-2000)).to.equal(0);
    expect(await lrq(gws[0]!.rasPort, 205)).to.equal('LRJ notRegistered');
    expect(await lrq(gws[1]!.rasPort, 206)).to.equal('LRJ notRegistered');
  });
});
