import { expect } from 'chai';
import { Registry } from 'prom-client';
import { Registrar, splitContacts, parseContact } from '../../../lib/registrar/registrar.js';
import { MemoryBindingStore } from '../../../lib/registrar/bindings.js';
import { mergeHeaders } from '../../../lib/sip/headers.js';

describe('registrar', () => {
  let now = 1_000_000;
  const clock = (): number => now;
  const limits = { maxContacts: 2, minExpiresSec: 60, maxExpiresSec: 3600, defaultExpiresSec: 600 };
  const make = (): Registrar => new Registrar(new MemoryBindingStore(clock), limits, new Registry(), clock);
  const base = { entryId: 'E1', username: 'alice', toUser: 'alice', expiresHeader: undefined, callId: 'c1', cseq: 1 };

  it('binds, refreshes and lists contacts with their remaining expiry', async () => {
    const r = make();
    const out = await r.register({ ...base, contacts: ['<sip:alice@10.0.0.1:5060>;expires=120'] });
    expect(out).to.deep.equal({ status: 200, bindings: [{ contact: 'sip:alice@10.0.0.1:5060', expiresSec: 120 }] });
    now += 30_000;
    expect((await r.lookup('E1'))[0]?.contact).to.equal('sip:alice@10.0.0.1:5060');
    now += 100_000;
    expect(await r.lookup('E1')).to.deep.equal([]);
  });

  it('clamps to the maximum, refuses below the minimum with 423 + Min-Expires', async () => {
    const r = make();
    const long = await r.register({ ...base, contacts: ['<sip:a@h>'], expiresHeader: '999999' });
    expect(long.status === 200 && long.bindings[0]?.expiresSec).to.equal(3600);
    const short = await r.register({ ...base, cseq: 2, contacts: ['<sip:a@h>;expires=10'] });
    expect(short).to.deep.equal({ status: 423, reason: 'Interval Too Brief', headers: { 'Min-Expires': '60' } });
  });

  it('an identity may only register its own AOR', async () => {
    expect((await make().register({ ...base, toUser: 'bob', contacts: ['<sip:a@h>'] })).status).to.equal(403);
  });

  it('caps contacts per identity and keeps the old bindings when refused', async () => {
    const r = make();
    await r.register({ ...base, contacts: ['<sip:a@h1>, <sip:a@h2>'] });
    const out = await r.register({ ...base, cseq: 2, contacts: ['<sip:a@h3>'] });
    expect(out.status).to.equal(403);
    expect((await r.lookup('E1')).map((b) => b.contact).sort()).to.deep.equal(['sip:a@h1', 'sip:a@h2']);
  });

  it('wildcard removes everything, only alone and only with Expires: 0', async () => {
    const r = make();
    await r.register({ ...base, contacts: ['<sip:a@h1>'] });
    expect((await r.register({ ...base, cseq: 2, contacts: ['*'], expiresHeader: '30' })).status).to.equal(400);
    expect((await r.register({ ...base, cseq: 3, contacts: ['*, <sip:a@h1>'], expiresHeader: '0' })).status).to.equal(400);
    expect((await r.register({ ...base, cseq: 4, contacts: ['*'], expiresHeader: '0' })).status).to.equal(200);
    expect(await r.lookup('E1')).to.deep.equal([]);
  });

  it('an older REGISTER of the same Call-ID does not undo a newer one (RFC 3261 10.3 step 7)', async () => {
    const r = make();
    await r.register({ ...base, cseq: 5, contacts: ['<sip:a@h1>;expires=300'] });
    await r.register({ ...base, cseq: 4, contacts: ['<sip:a@h1>;expires=0'] });
    expect(await r.lookup('E1')).to.have.length(1);
  });

  it('refuses a bad Contact or Expires with 400', async () => {
    expect((await make().register({ ...base, contacts: ['<http://x>'] })).status).to.equal(400);
    expect((await make().register({ ...base, contacts: ['<sip:a@h>'], expiresHeader: 'soon' })).status).to.equal(400);
  });

  it('splits Contact lists on top-level commas only', () => {
    expect(splitContacts(['"Doe, J" <sip:a@h;x=1,2>;expires=5, <sip:b@h>'])).to.deep.equal(['"Doe, J" <sip:a@h;x=1,2>;expires=5', '<sip:b@h>']);
    expect(parseContact('"Doe, J" <sip:a@h;x=1,2>;expires=5')).to.deep.equal({ uri: 'sip:a@h;x=1,2', star: false, expires: 5 });
  });
});

describe('header merging for forwarded requests', () => {
  it('is case-insensitive so a redacted value replaces the original instead of riding beside it', () => {
    const merged = mergeHeaders({ Subject: 'call 555-867-5309' }, { subject: 'call [phone]' }, { 'User-Agent': 'gw' });
    expect(merged).to.deep.equal({ Subject: 'call [phone]', 'User-Agent': 'gw' });
  });
});
