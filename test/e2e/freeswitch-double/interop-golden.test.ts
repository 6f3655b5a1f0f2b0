/**
 * The FreeSWITCH double against what the real FreeSWITCH 1.10.12 did in the interop captures
 * (test/fixtures/interop, see its README), driven through drachtio-srf + drachtio-fsmrf as the
 * gateway drives it:
 * - B1: a 3pcc INVITE (createEndpoint() without SDP) is answered with RTP/SAVP (one a=crypto per
 *   suite) then RTP/AVP, unless rtp_secure_media[_inbound]=forbidden (RTP/AVP only);
 * - B1: RTP whose payload type the leg's remote SDP did not negotiate is dropped (294 PT 0 packets
 *   into `m=audio 5000 RTP/AVP 8 101`: none relayed);
 * - T1: the 3pcc leg negotiates SRTP with its own offer at the ACK and keeps it after the plain
 *   RTP/AVP re-INVITE: the plain-RTP expert gets SRTP (188-byte datagrams) and nothing it sends
 *   is relayed to the H.323 side.
 * Double only (these check the double's media against recorded numbers).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fixture } from '../../support/paths.js';
import { startLab, type Lab } from './harness.js';
import type { Endpoint } from '../../../types/drachtio-fsmrf.js';

// ------------------------------------------------------------ recordings

/** `=== frame N ...` blocks of a fixture, by frame number. */
function frames(file: string): Map<number, string> {
  const out = new Map<number, string>();
  const text = readFileSync(fixture('interop', file), 'utf8');
  for (const block of text.split(/^=== frame /m).slice(1)) {
    const n = Number(/^(\d+)/.exec(block)![1]);
    out.set(n, block.slice(block.indexOf('\n') + 1).trimEnd());
  }
  return out;
}

const bodyOf = (msg: string): string => msg.slice(msg.indexOf('\n\n') + 2);

/** An SDP's shape: o=/keys/ports normalised, so only what FreeSWITCH decides is compared. */
function shape(sdp: string): string[] {
  return sdp.replace(/\r\n/g, '\n').split('\n').map((l) => l.trim()).filter((l) => l && !/^[ost]=/.test(l) && !/^c=/.test(l) && l !== 'v=0')
    .map((l) => l.replace(/^m=audio \d+ /, 'm=audio PORT ').replace(/ inline:\S+/, ' inline:KEY'));
}

/** RTP payloads (UDP payloads) of an Ethernet pcap. */
function pcapUdpPayloads(file: string): Buffer[] {
  const data = readFileSync(fixture('interop', file));
  const out: Buffer[] = [];
  let off = 24;
  while (off + 16 <= data.length) {
    const incl = data.readUInt32LE(off + 8);
    const ip = data.subarray(off + 16 + 14, off + 16 + incl);
    off += 16 + incl;
    if (ip[9] !== 17) continue;
    out.push(Buffer.from(ip.subarray((ip[0]! & 0x0f) * 4 + 8)));
  }
  return out;
}

/** `#   <count> <src port> <dst port> <udp length>` lines of T1-sip-rtp.txt. */
function t1Flows(): Array<{ count: number; src: number; dst: number; udpLength: number }> {
  const text = readFileSync(fixture('interop', 'T1-sip-rtp.txt'), 'utf8');
  return [...text.matchAll(/^#\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/gm)].map((m) => ({ count: Number(m[1]), src: Number(m[2]), dst: Number(m[3]), udpLength: Number(m[4]) }));
}

const B1 = frames('B1-sip.txt');
const T1 = frames('T1-sip-rtp.txt');

// ------------------------------------------------------------ far ends

interface Peer {
  sock: dgram.Socket;
  port: number;
  got: Buffer[];
  /** Resolves once `n` packets have arrived. */
  count(n: number): Promise<void>;
  send(pkt: Buffer, port: number): void;
  close(): void;
}

async function peer(): Promise<Peer> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  sock.on('message', (p) => {
    got.push(p);
    if (waiter && got.length >= waiter.n) waiter.resolve();
  });
  return {
    sock, port: sock.address().port, got,
    count: (n) => (got.length >= n ? Promise.resolve() : new Promise((resolve) => { waiter = { n, resolve }; })),
    send: (pkt, port) => sock.send(pkt, port, '127.0.0.1'),
    close: () => sock.close(),
  };
}

function pcmaPacket(seq: number, pt = 8): Buffer {
  const b = Buffer.alloc(12 + 160, 0xd5);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234, 8);
  return b;
}

const avpSdp = (port: number, pts: string, maps: string[]): string => [
  'v=0', 'o=peer 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts}`, ...maps, '',
].join('\r\n');

/**
 * Send `n` packets in batches of 50, each batch awaited with `handled(total so far)` before the next:
 * a burst of hundreds overflows a loopback socket buffer.
 */
async function paced(n: number, send: (i: number) => void, handled: (total: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const end = Math.min(n, i + 50);
    const done = handled(end);
    for (let k = i; k < end; k++) send(k);
    await done;
  }
}

const dropped = (lab: Lab, uuid: string, n: number): Promise<void> => new Promise((resolve) => {
  let seen = 0;
  const on = (u: string): void => {
    if (u === uuid && ++seen >= n) {
      lab.fs!.off('rtpDropped', on);
      resolve();
    }
  };
  lab.fs!.on('rtpDropped', on);
});

describe('FreeSWITCH double: interop recordings (B1, T1)', function () {
  this.timeout(20_000);
  let lab: Lab | undefined;
  const peers: Peer[] = [];
  const newPeer = async (): Promise<Peer> => {
    const p = await peer();
    peers.push(p);
    return p;
  };

  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    await lab?.stop();
    lab = undefined;
  });

  describe('3pcc offer (B1 frames 25/27)', () => {
    const recordedOffer = bodyOf(B1.get(27)!);

    it('stock (SDES optional): RTP/SAVP with every suite, then RTP/AVP, as recorded', async function () {
      lab = await startLab({ vars: {} });
      if (!lab.fs) this.skip();
      const ep: Endpoint = await lab.app.ms.createEndpoint();
      expect(shape(ep.local.sdp ?? '')).to.deep.equal(shape(recordedOffer));
      // F2: fsmrf ACKs with that offer (recvonly): the leg negotiates the first suite with itself
      const ch = lab.fs.channelInfo().find((c) => c.uuid === ep.uuid)!;
      expect(ch.srtp).to.equal('AEAD_AES_256_GCM_8');
      await ep.destroy();
    });

    for (const vars of [{ rtp_secure_media: 'forbidden' }, { rtp_secure_media_inbound: 'forbidden' }] as Array<Record<string, string>>) {
      it(`${Object.entries(vars)[0]!.join('=')}: only the RTP/AVP m-line of the recorded offer, no crypto`, async function () {
        lab = await startLab({ vars });
        if (!lab.fs) this.skip();
        const ep = await lab.app.ms.createEndpoint();
        const recordedAvp = recordedOffer.slice(recordedOffer.indexOf('m=audio 31018 RTP/AVP'));
        expect(shape(ep.local.sdp ?? '')).to.deep.equal(shape(recordedAvp));
        expect(lab.fs.channelInfo().find((c) => c.uuid === ep.uuid)!.srtp).to.equal(undefined);
        await ep.destroy();
      });
    }

    it('global_setvar over the event socket changes the next offer (the offer is made per INVITE from the globals)', async function () {
      lab = await startLab({ vars: {} });
      if (!lab.fs) this.skip();
      expect(await lab.app.ms.api('global_setvar rtp_secure_media_inbound=forbidden')).to.equal('+OK');
      expect(await lab.app.ms.api('global_getvar rtp_secure_media_inbound')).to.equal('forbidden');
      const ep = await lab.app.ms.createEndpoint();
      expect(ep.local.sdp).to.not.contain('RTP/SAVP');
      await ep.destroy();
    });

    it('rtp_secure_media_inbound wins over rtp_secure_media (fsmrf\'s channels are inbound)', async function () {
      lab = await startLab({ vars: { rtp_secure_media: 'forbidden', rtp_secure_media_inbound: 'optional' } });
      if (!lab.fs) this.skip();
      const ep = await lab.app.ms.createEndpoint();
      expect(ep.local.sdp).to.contain('RTP/SAVP');
      await ep.destroy();
    });
  });

  describe('payload types the leg did not negotiate (B1)', () => {
    it('294 PT 0 packets into `m=audio 5000 RTP/AVP 8 101`: counted, dropped, none relayed', async function () {
      lab = await startLab({ vars: {} });
      if (!lab.fs) this.skip();
      const replay = pcapUdpPayloads('B1-rtp-pt0-h323-to-fs.pcap');
      const analysis = readFileSync(fixture('interop', 'B1.analysis.txt'), 'utf8');
      const recorded = /127\.0\.0\.1:5000 -> 127\.0\.0\.1:31100\s+pkts=\s*(\d+) pt=(\d+)/.exec(analysis)!;
      expect(replay.length).to.equal(Number(recorded[1]));
      expect(new Set(replay.map((p) => p[1]! & 0x7f))).to.deep.equal(new Set([Number(recorded[2])]));
      const h323 = await newPeer();
      const sip = await newPeer();
      // the H.323 leg as the gateway made it (frame 23), re-pointed with frame 83's SDP at our socket
      const h323Leg = await lab.app.ms.createEndpoint({ remoteSdp: bodyOf(B1.get(23)!).replace(/\n/g, '\r\n') });
      await h323Leg.modify(bodyOf(B1.get(83)!).replace('m=audio 5000 ', `m=audio ${h323.port} `).replace(/\n/g, '\r\n'));
      // the SIP side: the callee's answer (frame 35's m-line)
      const sipLeg = await lab.app.ms.createEndpoint({ remoteSdp: avpSdp(sip.port, '0 8 101', ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000']) });
      await h323Leg.bridge(sipLeg);
      const port = Number(h323Leg.local.mediaPort);
      // in batches, each handled before the next (a burst of all 294 overflows a socket buffer)
      let prev = 0;
      await paced(replay.length, (i) => h323.send(replay[i]!, port), (total) => {
        const p = dropped(lab!, h323Leg.uuid, total - prev);
        prev = total;
        return p;
      });
      // a PCMA packet after them: once it is relayed, every packet before it has been handled
      h323.send(pcmaPacket(1), port);
      await sip.count(1);
      expect(sip.got).to.have.length(1);
      const ch = lab.fs.channelInfo().find((c) => c.uuid === h323Leg.uuid)!;
      expect(ch.rtp.rxPayloadTypes).to.deep.equal({ 0: replay.length, 8: 1 });
      expect(ch.rtp.droppedPayloadTypes).to.deep.equal({ 0: replay.length });
      expect(lab.fs.channelInfo().find((c) => c.uuid === sipLeg.uuid)!.rtp.relayedTx).to.equal(1);
      await h323Leg.destroy();
      await sipLeg.destroy();
    });

    it('a type the remote SDP did list (8 0 101, PCMA chosen): FreeSWITCH switches codec, so PT 0 is relayed', async function () {
      lab = await startLab({ vars: {} });
      if (!lab.fs) this.skip();
      const a = await newPeer();
      const b = await newPeer();
      const legA = await lab.app.ms.createEndpoint({ remoteSdp: avpSdp(a.port, '8 0 101', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000']) });
      const legB = await lab.app.ms.createEndpoint({ remoteSdp: avpSdp(b.port, '8 101', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000']) });
      await legA.bridge(legB);
      for (let i = 0; i < 5; i++) a.send(pcmaPacket(i, 0), Number(legA.local.mediaPort));
      await b.count(5);
      expect(new Set(b.got.map((p) => p[1]! & 0x7f))).to.deep.equal(new Set([8])); // in B's law
      expect(lab.fs.channelInfo().find((c) => c.uuid === legA.uuid)!.rtp.droppedPackets).to.equal(0);
      await legA.destroy();
      await legB.destroy();
    });
  });

  describe('the H.323 -> SIP call of T1 (3pcc leg to a plain-RTP expert)', () => {
    const flows = t1Flows();
    const flow = (src: number, dst: number): { count: number; udpLength: number } => flows.find((f) => f.src === src && f.dst === dst)!;
    // endpoint 47982 <-> FreeSWITCH 30036 (H.323 leg); expert 26212 <-> FreeSWITCH 30094 (3pcc leg)
    const toExpert = flow(30094, 26212);
    const fromExpert = flow(26212, 30094);
    const toEndpoint = flow(30036, 47982);
    const fromEndpoint = flow(47982, 30036);

    async function t1Call(vars: Record<string, string>): Promise<{ lab: Lab; expert: Peer; endpoint: Peer; sipLeg: Endpoint; h323Leg: Endpoint }> {
      const l = (lab = await startLab({ vars }));
      const expert = await newPeer();
      const endpoint = await newPeer();
      const sipLeg = await l.app.ms.createEndpoint(); // createOffer(): 3pcc
      // the expert's answer (frame 70) given to FreeSWITCH by re-INVITE (frame 79)
      await sipLeg.modify(bodyOf(T1.get(70)!).replace('m=audio 26212 ', `m=audio ${expert.port} `).replace(/\n/g, '\r\n'));
      const h323Leg = await l.app.ms.createEndpoint({ remoteSdp: avpSdp(endpoint.port, '8 101', ['a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000']) });
      await sipLeg.bridge(h323Leg);
      return { lab: l, expert, endpoint, sipLeg, h323Leg };
    }

    it(`stock: the expert gets ${toExpert.udpLength}-byte (SRTP) datagrams, the endpoint none of the expert's ${fromExpert.count} packets`, async function () {
      const { lab: l, expert, endpoint, sipLeg, h323Leg } = await t1Call({});
      if (!l.fs) this.skip();
      const recordedSuite = /"variable_rtp_secure_media_negotiated":"([^"]+)"/.exec(readFileSync(fixture('interop', 'T1-sip-rtp.txt'), 'utf8'))![1];
      expect(l.fs.channelInfo().find((c) => c.uuid === sipLeg.uuid)!.srtp).to.equal(recordedSuite);
      // the expert's RTP: dropped by the SRTP leg
      let prev = 0;
      await paced(fromExpert.count, (i) => expert.send(pcmaPacket(i), Number(sipLeg.local.mediaPort)), (total) => {
        const p = dropped(l, sipLeg.uuid, total - prev);
        prev = total;
        return p;
      });
      // the endpoint's RTP: relayed to the expert, protected
      await paced(fromEndpoint.count, (i) => endpoint.send(pcmaPacket(i), Number(h323Leg.local.mediaPort)), (total) => expert.count(total));
      expect(new Set(expert.got.map((p) => p.length + 8))).to.deep.equal(new Set([toExpert.udpLength]));
      // recorded: 97 of the endpoint's 100 reached the expert (the first ones came before the bridge)
      expect(expert.got.length).to.be.at.least(toExpert.count);
      // recorded: 1 datagram to the endpoint, not one of the expert's (it left before FreeSWITCH had the re-INVITE)
      expect(endpoint.got.length).to.be.at.most(toEndpoint.count);
      expect(l.fs.channelInfo().find((c) => c.uuid === h323Leg.uuid)!.rtp.relayedTx).to.equal(0);
      expect(l.fs.channelInfo().find((c) => c.uuid === sipLeg.uuid)!.rtp.srtpDropped).to.equal(fromExpert.count);
      await sipLeg.destroy();
      await h323Leg.destroy();
    });

    it('with rtp_secure_media_inbound=forbidden the same call carries plain RTP both ways', async function () {
      const { lab: l, expert, endpoint, sipLeg, h323Leg } = await t1Call({ rtp_secure_media_inbound: 'forbidden' });
      if (!l.fs) this.skip();
      expect(sipLeg.local.sdp).to.not.contain('RTP/SAVP');
      await paced(fromExpert.count, (i) => expert.send(pcmaPacket(i), Number(sipLeg.local.mediaPort)), (total) => endpoint.count(total));
      await paced(fromEndpoint.count, (i) => endpoint.send(pcmaPacket(i), Number(h323Leg.local.mediaPort)), (total) => expert.count(total));
      expect(new Set([...expert.got, ...endpoint.got].map((p) => p.length + 8))).to.deep.equal(new Set([fromEndpoint.udpLength]));
      await sipLeg.destroy();
      await h323Leg.destroy();
    });
  });
});
