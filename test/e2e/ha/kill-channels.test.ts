/**
 * The survivor's uuid_kill (MediaController.killChannels) against the FreeSWITCH double: a channel
 * this process did not create is hung up by UUID over the ESL connection; an unknown UUID is
 * answered -ERR and not counted.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { startMediaLab, udpPeer, type MediaLab } from '../media/harness.js';

describe('HA: FreeSWITCH channels ended by UUID', function () {
  this.timeout(30_000);
  let lab: MediaLab | undefined;

  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('uuid_kill ends the channel (+OK counted); a UUID FreeSWITCH does not know is not', async () => {
    lab = await startMediaLab();
    const far = await udpPeer();
    try {
      const s = lab.media.session();
      const leg = await s.createEndpointFor({ host: '127.0.0.1', port: far.port, codec: 'PCMU' });
      const hungUp = once(lab.media, 'hangup-complete');
      expect(await lab.media.killChannels([leg.endpoint.uuid, '00000000-0000-4000-8000-000000000000'])).to.equal(1);
      const [info] = (await hungUp) as [{ uuid: string }];
      expect(info.uuid).to.equal(leg.endpoint.uuid);
    } finally {
      far.sock.close();
    }
  });
});
