/**
 * GnuGk status-port client against a fake server replaying GnuGk's recorded transcripts:
 * banner and telnet bytes, registrations/calls/neighbours/statistics parsed, events emitted
 * even when they interleave with a reply.
 */
import { expect } from 'chai';
import { GnuGkStatusClient, stripTelnet, type StatusEvent } from '../../../lib/h323/gnugk/status-port.js';
import { FakeStatusPort, loadTranscript } from '../../lab/h323/fake-status-port.js';

describe('GnuGk status-port client (replayed transcripts)', () => {
  let server: FakeStatusPort | undefined;
  let client: GnuGkStatusClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server?.close();
    server = undefined;
  });

  it('strips telnet negotiation and reads the Version banner', async () => {
    server = await FakeStatusPort.start(loadTranscript('transcript-basic-and-makecall.txt'));
    client = await GnuGkStatusClient.connect('127.0.0.1', server.port);
    expect(client.versionBanner[0]).to.equal('Version:');
    expect(client.versionBanner[1]).to.match(/^Gatekeeper\(GNU\) Version\(5\.15\.0\)/);
    expect(stripTelnet(Buffer.from([0xff, 0xfd, 0x03, 0x41, 0xff, 0xff]))).to.deep.equal(Buffer.from([0x41, 0xff]));
  });

  it('lists registrations, neighbours and statistics', async () => {
    server = await FakeStatusPort.start(loadTranscript('transcript-basic-and-makecall.txt'));
    client = await GnuGkStatusClient.connect('127.0.0.1', server.port);
    const regs = await client.registrations();
    expect(regs).to.deep.equal([
      { callSignalAddress: '127.0.0.1:1750', aliases: [{ alias: '2000', type: 'dialedDigits' }, { alias: 'Static2000', type: 'h323_ID' }], endpointType: 'terminal', endpointId: '3373444455_endp' },
      { callSignalAddress: '127.0.0.3:1720', aliases: [{ alias: '1002', type: 'dialedDigits' }, { alias: 'ep1002', type: 'h323_ID' }], endpointType: 'terminal', endpointId: '2844192272_endp' },
    ]);
    expect(await client.neighbours()).to.deep.equal([{ id: 'GW-GK', address: '127.0.0.1:1721', enabled: true }]);
    expect(await client.statistics()).to.deep.equal({ totalEndpoints: 2, gateways: 0, currentCalls: 0, activeCalls: 0, totalCalls: 0, successfulCalls: 0 });
    expect((await client.find('1002'))?.endpointId).to.equal('2844192272_endp');
    expect(server.commands).to.deep.equal(['r', 'pn', 's', 'f 1002']);
  });

  it('lists calls with their ACF legs (event-shaped lines inside the reply stay in the reply)', async () => {
    server = await FakeStatusPort.start(loadTranscript('transcript-during-call.txt'));
    client = await GnuGkStatusClient.connect('127.0.0.1', server.port);
    const events: StatusEvent[] = [];
    client.on('event', (e) => events.push(e));
    const calls = await client.calls();
    expect(calls).to.have.length(1);
    expect(calls[0]).to.deep.include({ callNumber: 3, callId: '0cf3a2e220e9f111965802fc00000001', durationSeconds: 4, dialled: '1002' });
    expect(calls[0]!.legs.map((l) => l.fields[0])).to.deep.equal(['127.0.0.1:35962', '127.0.0.3:1720']);
    expect(events).to.deep.equal([]);
  });

  it('emits events that arrive after a reply block (CDR, DCF, UCF) without corrupting the next reply', async () => {
    server = await FakeStatusPort.start(loadTranscript('transcript-during-call.txt'));
    client = await GnuGkStatusClient.connect('127.0.0.1', server.port);
    const events: StatusEvent[] = [];
    client.on('event', (e) => events.push(e));
    const ucf = new Promise<StatusEvent>((resolve) => client!.on('event', (e) => e.type === 'UCF' && resolve(e)));
    await client.calls();
    expect((await client.command('cv')).some((l) => l.startsWith('# 1001:dialedDigits'))).to.equal(true);
    const regs = await client.registrations();
    expect(regs.map((r) => r.endpointId)).to.deep.equal(['109092784_endp', '85218946_endp', '1276595617_endp']);
    expect((await client.command('rv')).filter((l) => l.startsWith('RCF|'))).to.have.length(3);
    await ucf;
    expect(await client.neighbours()).to.have.length(1);
    expect(events.map((e) => e.type)).to.deep.equal(['CDR', 'DCF', 'DCF', 'UCF']);
    expect(events[0]!.fields[1]).to.equal('0c f3 a2 e2 20 e9 f1 11 96 58 02 fc 00 00 00 01');
  });

  it('rejects on "Error: Unknown command" and keeps working', async () => {
    server = await FakeStatusPort.start(loadTranscript('transcript-basic-and-makecall.txt'));
    client = await GnuGkStatusClient.connect('127.0.0.1', server.port);
    let err: Error | undefined;
    await client.command('bogus').catch((e: Error) => (err = e));
    expect(err?.message).to.match(/^Error: Unknown command 'bogus'/);
    expect(await client.neighbours()).to.have.length(1);
  });
});
