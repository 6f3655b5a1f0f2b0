/**
 * The caller's identity in the Setup the gateway process sends for a SIP -> H.323 call, on the
 * wire: SIPp callers authenticated by digest through the policy chain -> drachtio double ->
 * gateway (dial plan h323Target) -> FreeSWITCH double (media) -> a Q.931 peer that records the
 * Setup and refuses the call (ReleaseComplete cause 17 -> 486). A normal caller's Setup names them
 * (sourceAddress h323-ID + dialledDigits, Calling party number, Display IE and UUIE displayName
 * from the registry); an ESCALATE caller's registry display name goes out redacted, and no raw
 * PII is anywhere in the bytes the gateway wrote on the H.225 connection.
 */
import { realFsFromEnv } from '../freeswitch-double/harness.js';
import { fsTarget } from '../../support/esl.js';
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { labPerson, writeRegistry, type LabPerson } from '../../lab/policy-lab.js';
import { freeMediaPort, freePort } from '../../lab/ports.js';
import { injectionFile } from '../../lab/scenarios.js';
import { runSipp, stopAllSipp } from '../../lab/sipp.js';
import { callerAck, callerInvite } from '../../lab/sipp-xml.js';
import { expectNoRawPii, setupBody } from '../../support/h225.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { MessageType, Q931Channel, findIe, type Q931Message } from '../../../lib/h323/q931/index.js';
import { releaseCompleteMessage } from '../../../lib/h323/h225/build.js';

const REALM = 'caller-id.test';
const ESL_SECRET = 'lab-esl-secret';
const PII = ['+1 202 555 0143', '202 555 0143', 'grace.hopper@navy.example.org', 'navy.example'];

const CALLER = { user: '[field0]', display: '[field1]' };
/** INVITE -> 407 -> ACK -> INVITE with digest -> 486 -> ACK. field0 user, field1 From display, field2 escalation marker. */
const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller identity">
${callerInvite({ ...CALLER, cseq: 1 })}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
${callerAck({ ...CALLER, cseq: 1, via: 'last' })}
${callerInvite({ ...CALLER, cseq: 2, headers: ['[authentication]', 'X-Council-Escalation: [field2]'] })}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="486" timeout="15000"/>
${callerAck({ ...CALLER, cseq: 2, via: 'last' })}
</scenario>
`;

interface Recorded {
  setup: Q931Message;
  /** Everything the gateway wrote on this H.225 connection. */
  bytes: () => Buffer;
}

/** A call-signalling peer that records each Setup and refuses the call: ReleaseComplete, cause 17. */
class RefusingPeer {
  readonly setups: Recorded[] = [];
  private readonly sockets = new Set<Socket>();
  private waiters: Array<() => void> = [];
  private readonly server: Server = createServer((s) => {
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    const ch: Q931Channel = new Q931Channel(s, {
      onMessage: (m) => {
        if (m.messageType !== MessageType.Setup) return;
        this.setups.push({ setup: m, bytes: () => Buffer.concat(chunks) });
        ch.send(releaseCompleteMessage({ ...m.callReference, flag: true }, undefined, { cause: 17, h245Tunnelling: false }));
        for (const w of this.waiters.splice(0)) w();
      },
      onClose: () => undefined,
    }, { registry: isolatedRegistry() });
  });

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as AddressInfo).port;
  }

  async setup(n: number): Promise<Recorded> {
    while (this.setups.length <= n) await new Promise<void>((r) => this.waiters.push(r));
    return this.setups[n]!;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

describe('gateway: the caller\'s identity in the SIP -> H.323 Setup', function () {
  this.timeout(60_000);
  let target: DrachtioTarget;
  let fs: FreeSwitchDouble | undefined;
  let gw: GatewayProcess;
  let peer: RefusingPeer;
  const ada = labPerson('4711', REALM);
  ada.entry.displayName = 'Ada Lovelace';
  const grace = labPerson('grace', REALM);
  grace.entry.displayName = 'Grace Hopper +1 202 555 0143 grace.hopper@navy.example.org';
  const work = mkdtempSync(join(tmpdir(), 'caller-id-'));
  const scenario = join(work, 'caller.xml');
  writeFileSync(scenario, SCENARIO);

  before(async function () {
    peer = new RefusingPeer();
    const port = await peer.listen();
    target = await startDrachtioTarget();
    if (!realFsFromEnv()) fs = await FreeSwitchDouble.start({ eslPassword: ESL_SECRET, sipPort: 0, eslPort: 0 });
    const fsEsl = fsTarget(fs, ESL_SECRET);
    const reg = writeRegistry([ada, grace]);
    gw = await startGateway({
      config: {
        drachtio: { host: target.host, port: target.port },
        shutdown: { drainTimeoutMs: 2000 },
        policy: { realm: REALM, digestAlgorithms: ['MD5', 'SHA-256'], identityRequiredFor: [], codecs: ['PCMA', 'PCMU', 'telephone-event'] },
        registry: { file: reg.file },
        audit: { dir: mkdtempSync(join(tmpdir(), 'caller-id-audit-')), fsync: false },
        media: { esl: { host: fsEsl.host, port: fsEsl.port }, listen: { address: '127.0.0.1', port: 0 } },
        h323: { ras: { host: '127.0.0.1', port: 0 }, callSignalAddress: { host: '127.0.0.1', port: await freePort() }, neighbours: [{ name: 'GK', host: '127.0.0.1' }] },
        dialPlan: [{ prefix: '1000', h323Target: `127.0.0.1:${port}` }],
      },
      env: { DRACHTIO_SECRET: target.secret, FS_ESL_SECRET: fsEsl.secret, AUDIT_ID_KEY: 'caller-id-audit-key' },
    });
    await gw.waitForOutput(/connected to drachtio-server/);
    await gw.waitForOutput(/media server up/);
  });

  after(async () => {
    stopAllSipp();
    await gw?.stop('SIGTERM', 5000);
    peer?.close();
    await fs?.stop();
    await target?.stop();
  });

  async function call(p: LabPerson, fromDisplay: string, escalation: string): Promise<void> {
    const r = await runSipp({
      target: `${target.sipHost}:${target.sipPort}`,
      scenario,
      service: '1000',
      auth: { user: p.username, password: p.password },
      timeoutMs: 30_000,
      args: ['-inf', injectionFile([[p.username, fromDisplay, escalation]]), '-auth_uri', `1000@${target.sipHost}:${target.sipPort}`,
        '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
    });
    expect(r.exitCode, r.messages.slice(-3000)).to.equal(0);
  }

  it('a normal caller: h323-ID and dialledDigits of the SIP user, Calling party number, the registry display name', async () => {
    await call(ada, 'Ada from the From header', 'none');
    const { setup } = await peer.setup(0);
    const s = setupBody(setup);
    expect(s.sourceAddress).to.deep.equal([{ choice: 'h323-ID', value: '4711' }, { choice: 'dialledDigits', value: '4711' }]);
    expect(findIe(setup, 'display')?.text).to.equal('Ada Lovelace');
    expect(s.displayName).to.deep.equal([{ name: 'Ada Lovelace' }]);
    expect(findIe(setup, 'callingPartyNumber')).to.deep.include({ numberingPlan: 1, digits: '4711' });
    expect(findIe(setup, 'calledPartyNumber')?.digits).to.equal('1000');
  });

  it('an ESCALATE caller with PII in the registry display name: redacted display, no raw PII on the wire', async () => {
    await call(grace, 'Grace +1 202 555 0143', 'ESCALATE');
    const rec = await peer.setup(1);
    const s = setupBody(rec.setup);
    const redacted = 'Grace Hopper [REDACTED:phone] [REDACTED:email]';
    expect(s.sourceAddress).to.deep.equal([{ choice: 'h323-ID', value: 'grace' }]);
    expect(findIe(rec.setup, 'display')?.text).to.equal(redacted);
    expect(s.displayName).to.deep.equal([{ name: redacted }]);
    expect(findIe(rec.setup, 'callingPartyNumber')).to.equal(undefined);
    expectNoRawPii(rec.bytes(), PII);
  });
});
