/**
 * Media and faults through drachtio-fsmrf against the FreeSWITCH double, with a plain UDP socket as
 * the far end: RFC 4733 DTMF both ways, playback audio in the negotiated law, and an outbound ESL
 * connection dropped mid-call.
 */
import dgram from 'node:dgram';
import { expect } from 'chai';
import { startLab, type Lab } from './harness.js';
import type { Endpoint } from '../../../types/drachtio-fsmrf.js';
import { telephoneEventPacket } from '../../lab/freeswitch-double/rtp.js';

interface FarEnd {
  sock: dgram.Socket;
  port: number;
  packets: Buffer[];
  waitFor(pred: (p: Buffer) => boolean): Promise<Buffer>;
}

async function farEnd(): Promise<FarEnd> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const packets: Buffer[] = [];
  const waiters: Array<{ pred: (p: Buffer) => boolean; resolve: (p: Buffer) => void }> = [];
  sock.on('message', (p) => {
    packets.push(p);
    for (const w of [...waiters]) {
      if (w.pred(p)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(p);
      }
    }
  });
  return {
    sock, port: sock.address().port, packets,
    waitFor: (pred) => new Promise((resolve) => {
      const hit = packets.find(pred);
      if (hit) resolve(hit);
      else waiters.push({ pred, resolve });
    }),
  };
}

const sdp = (port: number): string => [
  'v=0', 'o=far 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`,
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', '',
].join('\r\n');


const pt = (p: Buffer): number => p[1]! & 0x7f;

describe('FreeSWITCH double: media through drachtio-fsmrf', function () {
  this.timeout(15_000);
  let lab: Lab | undefined;
  let far: FarEnd | undefined;

  beforeEach(async function () {
    lab = await startLab({ fileDurationMs: 300 });
    // Against a real FreeSWITCH only the tests that look at nothing but the wire and fsmrf run.
    const onReal = ['reports RFC 4733 DTMF as a dtmf event and sends DTMF with uuid_send_dtmf'];
    if (!lab.fs && !onReal.includes(this.currentTest?.title ?? '')) this.skip();
    far = await farEnd();
  });
  afterEach(async () => {
    far?.sock.close();
    far = undefined;
    await lab?.stop();
    lab = undefined;
  });

  async function endpoint(): Promise<Endpoint> {
    return lab!.app.ms.createEndpoint({ remoteSdp: sdp(far!.port) });
  }

  it('reports RFC 4733 DTMF as a dtmf event and sends DTMF with uuid_send_dtmf', async () => {
    const ep = await endpoint();
    const got = new Promise<{ dtmf: string; duration: string }>((r) => ep.on('dtmf', r));
    // fsmrf resolves createEndpoint() before its event subscription is processed; an api round trip
    // on the same connection orders the DTMF after it.
    await ep.api('uuid_exists', ep.uuid);
    const port = Number(ep.local.mediaPort);
    far!.sock.send(telephoneEventPacket(5, false, 1), port, '127.0.0.1');
    for (let i = 0; i < 3; i++) far!.sock.send(telephoneEventPacket(5, true, 2 + i), port, '127.0.0.1');
    const d = await got;
    expect(d).to.include({ dtmf: '5', duration: '800' });
    expect(await lab!.app.ms.api(`uuid_send_dtmf ${ep.uuid} 7`)).to.equal(`+OK ${ep.uuid} sent DTMF 7.\n`);
    const end = await far!.waitFor((p) => pt(p) === 101 && (p[13]! & 0x80) !== 0);
    expect(end[12]).to.equal(7);
    await ep.destroy();
  });

  it('plays audio to the far end in the negotiated law (PCMU)', async () => {
    const ep = await endpoint();
    await ep.play('/sounds/anything.wav');
    const audio = far!.packets.filter((p) => pt(p) !== 101);
    expect(audio.length).to.be.greaterThan(5);
    expect(new Set(audio.map(pt))).to.deep.equal(new Set([0]));
    await ep.destroy();
    const ch = lab!.fs!.channelInfo()[0]!;
    expect(ch.rtp.txPayloadTypes[0]).to.equal(audio.length);
  });

  it('3pcc endpoint, then modify() with the far end\'s SDP, SDES forbidden: audio goes there (the H.323 leg pattern)', async () => {
    await lab!.stop();
    lab = await startLab({ fileDurationMs: 300, vars: { rtp_secure_media_inbound: 'forbidden' } });
    const ep = await lab.app.ms.createEndpoint();
    expect(ep.local.sdp).to.not.contain('RTP/SAVP');
    expect(ep.local.sdp?.match(/^m=audio /gm)).to.have.length(1);
    await ep.modify(sdp(far!.port));
    expect(ep.remote.mediaPort).to.equal(String(far!.port));
    expect(ep.local.sdp).to.match(/m=audio \d+ RTP\/AVP 0 101/);
    await ep.play('tone_stream://%(300,0,440);loops=1');
    const vars = await ep.getChannelVariables(true);
    expect(vars.variable_current_application_data).to.equal('tone_stream://%(300,0,440);loops=1');
    const audio = far!.packets.filter((p) => pt(p) === 0);
    expect(audio.length).to.be.greaterThan(5);
    expect(new Set(audio.map((p) => p.length))).to.deep.equal(new Set([12 + 160]));
    await ep.destroy();
  });

  it('3pcc endpoint with stock SDES (optional): SRTP from the ACK on, kept after an RTP/AVP modify() (T1)', async () => {
    const ep = await lab!.app.ms.createEndpoint();
    expect(ep.local.sdp).to.contain('RTP/SAVP'); // its own offer (F2)
    await ep.modify(sdp(far!.port));
    expect(ep.local.sdp).to.match(/m=audio \d+ RTP\/AVP 0 101/); // answered plain RTP...
    await ep.play('tone_stream://%(300,0,440);loops=1');
    const audio = far!.packets.filter((p) => pt(p) === 0);
    expect(audio.length).to.be.greaterThan(5);
    // ... but sends SRTP: 12-byte header, 160 bytes, the 8-byte tag of AEAD_AES_256_GCM_8
    expect(new Set(audio.map((p) => p.length))).to.deep.equal(new Set([12 + 160 + 8]));
    const ch = lab!.fs!.channelInfo().find((c) => c.uuid === ep.uuid)!;
    expect(ch.srtp).to.equal('AEAD_AES_256_GCM_8');
    await ep.destroy();
  });

  it('conference: audio from one member reaches the other (relayed, law converted)', async () => {
    const far2 = await farEnd();
    try {
      const ms = lab!.app.ms;
      const conf = await ms.createConference(`media-${Date.now()}`);
      const a = await endpoint(); // PCMU
      const pcmaSdp = sdp(far2.port).replace('RTP/AVP 0 101', 'RTP/AVP 8 101').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000');
      const b = await ms.createEndpoint({ remoteSdp: pcmaSdp });
      await a.join(conf);
      await b.join(conf);
      const pkt = Buffer.alloc(172, 0xff);
      pkt[0] = 0x80;
      pkt[1] = 0;
      for (let i = 0; i < 10; i++) {
        pkt.writeUInt16BE(i, 2);
        far!.sock.send(pkt, Number(a.local.mediaPort), '127.0.0.1');
      }
      const got = await far2.waitFor((p) => pt(p) === 8);
      expect(got.length).to.equal(172);
      await a.destroy();
      await b.destroy();
      await ms.api(`uuid_kill ${conf.endpoint.uuid}`); // F1: the control leg ignores its hangup
    } finally {
      far2.sock.close();
    }
  });

  it('ESL dropped mid-call: the channel is hung up, BYE sent, the endpoint destroyed', async () => {
    const ep = await endpoint();
    const destroyed = new Promise<void>((r) => ep.on('destroy', () => r()));
    const hungUp = new Promise<void>((r) => lab!.fs!.once('hangup', () => r()));
    const outbound = lab!.tap.transcript.find((t) => t.kind === 'outbound')!.conn;
    lab!.tap.drop(outbound);
    await Promise.all([destroyed, hungUp]);
    expect(lab!.fs!.channelInfo()[0]!.state).to.equal('hangup');
    expect(lab!.fs!.sipLog.some((l) => l.dir === 'out' && l.startLine.startsWith('BYE '))).to.equal(true);
  });

  it('dropConnections(): every ESL connection reset, live channels hung up with BYE', async () => {
    const ep = await endpoint();
    const destroyed = new Promise<void>((r) => ep.on('destroy', () => r()));
    const msEnded = new Promise<void>((r) => lab!.app.ms.on('end', () => r()));
    lab!.fs!.dropConnections();
    await Promise.all([destroyed, msEnded, lab!.fs!.idle()]);
    expect(lab!.fs!.channelInfo().map((c) => c.state)).to.deep.equal(['hangup']);
    // 200 OK sent once (the ACK came), then the BYE
    expect(lab!.fs!.sipLog.filter((l) => l.dir === 'out').map((l) => l.startLine.split(' ')[0])).to.deep.equal(['SIP/2.0', 'SIP/2.0', 'BYE']);
  });
});
