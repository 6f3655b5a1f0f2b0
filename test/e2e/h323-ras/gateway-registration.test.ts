/**
 * The gateway process as an H.323 gateway in a GnuGk zone: with `h323.gatekeeper.register` it
 * sends GRQ/RRQ (aliases and zone prefixes) from its neighbour socket to a peer replaying GnuGk's
 * recorded replies, and unregisters (URQ) when it is stopped with SIGTERM.
 */
import { expect } from 'chai';
import { UdpPeer } from '../../lab/h323/udp-peer.js';
import { FakeGnuGk, gnugkPolicy } from '../../lab/h323/fake-gnugk.js';
import { startGateway } from '../../lab/gateway-process.js';
import { startDrachtioTarget } from '../../lab/drachtio-target.js';
import { supportedPrefixes } from '../../../lib/h323/ras/messages.js';

describe('gateway registers with GnuGk (replayed replies)', function () {
  this.timeout(30_000);

  it('GRQ, then RRQ with our aliases and prefixes from the neighbour socket; URQ on SIGTERM', async () => {
    const target = await startDrachtioTarget();
    const gkPeer = await UdpPeer.open('127.0.0.1');
    const gk = new FakeGnuGk(gkPeer, gnugkPolicy(gkPeer));
    const gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        policy: { enabled: false },
        h323: {
          ras: { host: '127.0.0.1', port: 0 },
          callSignalAddress: { host: '127.0.0.1', port: 1720 },
          neighbours: [{ name: 'GK', host: '127.0.0.1', port: gkPeer.port }],
          localZone: { prefixes: ['9', '44'] },
          gatekeeper: { host: '127.0.0.1', port: gkPeer.port, register: true, aliases: ['council-gw'], timeToLive: 300 },
        },
      },
      env: { DRACHTIO_SECRET: target.secret },
    });
    try {
      await gw.waitForOutput(/registered with the gatekeeper/);
      const [grq, rrq] = await gk.received(2);
      expect(grq!.msg.choice).to.equal('gatekeeperRequest');
      expect(rrq!.msg.choice).to.equal('registrationRequest');
      // Sent from the neighbour socket GnuGk knows us by.
      expect(rrq!.from.port).to.equal(gw.rasPort);
      if (rrq!.msg.choice !== 'registrationRequest') throw new Error('unreachable');
      expect(supportedPrefixes(rrq!.msg.value.terminalType)).to.deep.equal(['9', '44']);
      expect(JSON.stringify(rrq!.msg.value.terminalAlias ?? [])).to.include('council-gw');

      expect(await gw.stop('SIGTERM')).to.equal(0);
      const all = await gk.received(3);
      expect(all[2]!.msg.choice).to.equal('unregistrationRequest');
    } finally {
      await gw.stop('SIGKILL');
      gk.stop();
      await gkPeer.close();
      await target.stop();
    }
  });
});
