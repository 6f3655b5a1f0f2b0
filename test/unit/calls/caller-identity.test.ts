/**
 * The caller's identity in the SIP -> H.323 Setup (lib/calls/sip-to-h323.ts sipCallerIdentity /
 * h323DialTarget, lib/h323/h225/caller-identity.ts): what the policy chain authenticated becomes
 * sourceAddress (h323-ID, dialledDigits), the Calling party number IE, the Display IE and the
 * UUIE displayName; an ESCALATE call's display name goes out redacted and an alias holding PII
 * not at all. Checked on the bytes H323Call writes on a real TCP connection, decoded back, and
 * through tshark (skipped with a message when tshark is missing).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { H323Call } from '../../../lib/h323/call/index.js';
import { MessageType, findIe, type Q931Message } from '../../../lib/h323/q931/index.js';
import { displayIeText, setupCallerFields } from '../../../lib/h323/h225/caller-identity.js';
import { h323DialTarget, sipCallerIdentity, type H323Target } from '../../../lib/calls/sip-to-h323.js';
import { FakeTimers, loopback, type Loopback } from '../h323/q931/helpers/loopback.js';
import { TcpPcap } from '../h323/q931/helpers/pcap.js';
import { Peer } from '../h323/call/helpers.js';
import { expectNoRawPii, setupBody } from '../../support/h225.js';

const run = promisify(execFile);

const ada = { displayName: 'Ada Lovelace', sip: { username: '4711' } };
/** A registry display name carrying PII: a phone number and an e-mail address. */
const grace = { displayName: 'Grace Hopper +1 202 555 0143 grace.hopper@navy.example.org', sip: { username: 'grace' } };
const RAW_PII = ['202 555 0143', '2025550143', 'grace.hopper@navy.example.org', 'navy.example'];

interface Captured {
  msg: Q931Message;
  /** The TPKT-framed bytes as they crossed the connection. */
  wire: Buffer;
}

/** Places an outgoing H323Call with h323DialTarget(target) and captures the Setup it writes. */
async function setupOnTheWire(target: H323Target): Promise<Captured> {
  const lb: Loopback = await loopback();
  const timers = new FakeTimers();
  const chunks: Buffer[] = [];
  lb.server.on('data', (b: Buffer) => chunks.push(b));
  const peer = new Peer(lb, timers, 'server');
  const call = new H323Call(lb.client, 'outgoing', {
    codecs: ['PCMA'], media: { rtp: { host: '127.0.0.1', port: 40000 } }, timers, registry: isolatedRegistry(), endpointKind: 'gateway',
  });
  try {
    call.start(h323DialTarget(target));
    const msg = await peer.next(MessageType.Setup);
    return { msg, wire: Buffer.concat(chunks) };
  } finally {
    call.removeAllListeners();
    await lb.close();
  }
}

describe('calls: the caller\'s identity in the SIP -> H.323 Setup', () => {
  describe('sipCallerIdentity (policy chain -> identity)', () => {
    it('takes the authenticated entry: username (also the number when it is digits) and registry display name', () => {
      expect(sipCallerIdentity({ entry: ada, escalated: false })).to.deep.equal({ user: '4711', number: '4711', displayName: 'Ada Lovelace' });
      expect(sipCallerIdentity({ entry: { displayName: 'Lin', sip: { username: 'lin' } }, escalated: false })).to.deep.equal({ user: 'lin', displayName: 'Lin' });
      expect(sipCallerIdentity({ entry: { displayName: 'Intl', sip: { username: '+442079460000' } }, escalated: false }))
        .to.deep.equal({ user: '+442079460000', number: '+442079460000', displayName: 'Intl' });
    });

    it('never takes the (unauthenticated) From when there is an entry; uses it only without one', () => {
      expect(sipCallerIdentity({ entry: ada, from: '"Mallory" <sip:1234@evil.example>;tag=1', escalated: false })).to.deep.equal({ user: '4711', number: '4711', displayName: 'Ada Lovelace' });
      expect(sipCallerIdentity({ from: '"Bob Builder" <sip:bob@lab.example>;tag=9', escalated: false })).to.deep.equal({ user: 'bob', displayName: 'Bob Builder' });
      expect(sipCallerIdentity({ from: '<sip:2000@lab.example>;tag=9', escalated: false })).to.deep.equal({ user: '2000', number: '2000' });
      expect(sipCallerIdentity({ from: 'garbage', escalated: false })).to.equal(undefined);
      expect(sipCallerIdentity({ escalated: false })).to.equal(undefined);
    });

    it('ESCALATE: redacts PII in the display name, leaves out a user name or number that is PII', () => {
      expect(sipCallerIdentity({ entry: grace, escalated: true })).to.deep.equal({ user: 'grace', displayName: 'Grace Hopper [REDACTED:phone] [REDACTED:email]' });
      // Not escalated: the registry's name as it is.
      expect(sipCallerIdentity({ entry: grace, escalated: false })?.displayName).to.equal(grace.displayName);
      // A phone number or an e-mail address as the user name: no alias, no number at all.
      expect(sipCallerIdentity({ entry: { displayName: 'Tel', sip: { username: '12025550143' } }, escalated: true })).to.deep.equal({ displayName: 'Tel' });
      expect(sipCallerIdentity({ entry: { displayName: 'Mail', sip: { username: 'grace@navy.example.org' } }, escalated: true })).to.deep.equal({ displayName: 'Mail' });
      // Short extensions are not phone numbers: kept.
      expect(sipCallerIdentity({ entry: ada, escalated: true })).to.deep.equal({ user: '4711', number: '4711', displayName: 'Ada Lovelace' });
      // Without an entry the From the PII gate forwarded (already redacted) is redacted again: no change.
      expect(sipCallerIdentity({ from: '"G [REDACTED:phone]" <sip:grace@lab.example>', escalated: true })).to.deep.equal({ user: 'grace', displayName: 'G [REDACTED:phone]' });
      expect(sipCallerIdentity({ entry: { displayName: '+1 202 555 0143', sip: { username: '12025550143' } }, escalated: true })).to.deep.equal({ displayName: '[REDACTED:phone]' });
    });
  });

  describe('setupCallerFields (identity -> Setup fields)', () => {
    it('h323-ID first, dialledDigits for a number, the Calling party number (international for +)', () => {
      expect(setupCallerFields({ user: '4711', number: '4711', displayName: 'Ada Lovelace' })).to.deep.equal({
        sourceAliases: [{ choice: 'h323-ID', value: '4711' }, { choice: 'dialledDigits', value: '4711' }],
        callingNumber: '4711', display: 'Ada Lovelace', displayName: 'Ada Lovelace',
      });
      expect(setupCallerFields({ user: '+442079460000', number: '+442079460000' })).to.deep.equal({
        sourceAliases: [{ choice: 'h323-ID', value: '+442079460000' }, { choice: 'dialledDigits', value: '442079460000' }],
        callingNumber: '442079460000', callingNumberType: 1,
      });
      expect(setupCallerFields({ number: '12-34' })).to.deep.equal({});
      expect(setupCallerFields({ user: ' \u0007 ', displayName: '\t' })).to.deep.equal({});
    });

    it('Display IE in printable ASCII (accents folded), the UUIE displayName as given, both at most 80 characters', () => {
      expect(setupCallerFields({ displayName: 'José Müller-Ørsted' })).to.deep.equal({ display: 'Jose Muller-?rsted', displayName: 'José Müller-Ørsted' });
      expect(displayIeText('Zoë 🎻\u0000 Quartet')).to.equal('Zoe ? Quartet');
      expect(setupCallerFields({ displayName: '🎻' })).to.deep.equal({ display: '?', displayName: '?' });
      const long = setupCallerFields({ displayName: 'x'.repeat(200) });
      expect(long.display).to.have.length(80);
      expect(long.displayName).to.have.length(80);
    });

    it('an explicit callingNumber on the target overrides the caller\'s number (and its type)', () => {
      const t = h323DialTarget({ host: '127.0.0.1', port: 1720, calledNumber: '1000', callingNumber: '555', caller: { user: '+44', number: '+44' } });
      expect(t).to.deep.include({ calledNumber: '1000', callingNumber: '555' });
      expect(t.callingNumberType).to.equal(undefined);
      expect(h323DialTarget({ host: '127.0.0.1', port: 1720, calledNumber: '1000' })).to.deep.equal({ calledNumber: '1000' });
    });
  });

  describe('the Setup on the wire', function () {
    this.timeout(30_000);
    const target = (caller: ReturnType<typeof sipCallerIdentity>): H323Target => ({ host: '127.0.0.1', port: 1720, calledNumber: '1000', ...(caller ? { caller } : {}) });
    let normal: Captured;
    let escalated: Captured;
    let anonymous: Captured;

    before(async () => {
      normal = await setupOnTheWire(target(sipCallerIdentity({ entry: ada, escalated: false })));
      escalated = await setupOnTheWire(target(sipCallerIdentity({ entry: grace, escalated: true })));
      anonymous = await setupOnTheWire(target(undefined));
    });

    it('a normal caller: sourceAddress h323-ID + dialledDigits, Calling party number, Display IE, displayName', () => {
      const s = setupBody(normal.msg);
      expect(s.sourceAddress).to.deep.equal([{ choice: 'h323-ID', value: '4711' }, { choice: 'dialledDigits', value: '4711' }]);
      expect(s.displayName).to.deep.equal([{ name: 'Ada Lovelace' }]);
      expect(findIe(normal.msg, 'display')?.text).to.equal('Ada Lovelace');
      expect(findIe(normal.msg, 'callingPartyNumber')).to.deep.include({ numberType: 0, numberingPlan: 1, digits: '4711' });
      expect(findIe(normal.msg, 'calledPartyNumber')?.digits).to.equal('1000');
    });

    it('an ESCALATE caller with PII in the registry display name: the redacted name, no raw PII anywhere in the bytes', () => {
      const s = setupBody(escalated.msg);
      const redacted = 'Grace Hopper [REDACTED:phone] [REDACTED:email]';
      expect(s.sourceAddress).to.deep.equal([{ choice: 'h323-ID', value: 'grace' }]);
      expect(s.displayName).to.deep.equal([{ name: redacted }]);
      expect(findIe(escalated.msg, 'display')?.text).to.equal(redacted);
      expect(findIe(escalated.msg, 'callingPartyNumber')).to.equal(undefined);
      expectNoRawPii(escalated.wire, RAW_PII);
      // The unredacted name would have been on the wire (the check above can fail).
      expect(normal.wire.includes(Buffer.from('Ada Lovelace', 'latin1'))).to.equal(true);
      expect(normal.wire.includes(Buffer.from('Ada Lovelace', 'utf16le').swap16())).to.equal(true);
    });

    it('without a caller the Setup stays as before: no sourceAddress, Display IE or Calling party number', () => {
      const s = setupBody(anonymous.msg);
      expect(s.sourceAddress).to.equal(undefined);
      expect(s.displayName).to.equal(undefined);
      expect(findIe(anonymous.msg, 'display')).to.equal(undefined);
      expect(findIe(anonymous.msg, 'callingPartyNumber')).to.equal(undefined);
    });

    it('tshark dissects both Setups without a malformed packet and shows the aliases, display and number', async function () {
      try {
        await run('tshark', ['--version']);
      } catch {
        console.warn('SKIP tshark check: tshark is not installed');
        this.skip();
      }
      const dir = mkdtempSync(join(tmpdir(), 'caller-id-tshark-'));
      try {
        const frames: string[] = [];
        for (const [i, c] of [normal, escalated].entries()) {
          const p = new TcpPcap({ ip: '127.0.0.1', port: 45700 + i }, { ip: '127.0.0.1', port: 1720 });
          p.send(true, c.wire);
          const file = join(dir, `setup-${i}.pcap`);
          writeFileSync(file, p.finish());
          const out = await run('tshark', ['-n', '-r', file, '-V', '-Y', 'q931'], { maxBuffer: 64 << 20 });
          frames.push(out.stdout);
        }
        for (const f of frames) {
          expect(f).to.match(/Message type: SETUP/);
          expect(f).to.not.match(/Malformed Packet|Dissector bug|Exception occurred/);
          expect(f).to.not.match(/Expert Info \((Warning|Warn|Error)/);
        }
        const [n, e] = frames as [string, string];
        expect(n).to.match(/h323-ID: 4711/);
        expect(n).to.match(/dialledDigits: 4711/);
        expect(n).to.match(/Display information: Ada Lovelace/);
        expect(n).to.match(/Calling party number digits: 4711/);
        expect(n).to.match(/name: Ada Lovelace/);
        expect(e).to.match(/h323-ID: grace/);
        expect(e).to.match(/Display information: Grace Hopper \[REDACTED:phone\] \[REDACTED:email\]/);
        expect(e).to.match(/name: Grace Hopper \[REDACTED:phone\] \[REDACTED:email\]/);
        expect(e).to.not.match(/Calling party number/);
        for (const p of RAW_PII) expect(e, p).to.not.include(p);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
