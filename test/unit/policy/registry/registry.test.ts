import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRegistryDocument } from '../../../../lib/registry/validate.js';
import { FileRegistry, writeRegistryFile } from '../../../../lib/registry/store.js';
import { addEntry, rotateKey, setStatus } from '../../../../lib/registry/edit.js';
import { makeCredentials } from '../../../../lib/registry/credentials.js';
import type { RegistryDocument } from '../../../../lib/registry/types.js';
import { makeIdentity } from '../fixtures.js';
import { createHash } from 'node:crypto';

describe('policy/registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-reg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const a = makeIdentity('T-01');
  const b = makeIdentity('C-01');
  const doc = (): RegistryDocument => ({ version: 1, entries: [structuredClone(a.entry), structuredClone(b.entry)] });

  it('computes RFC 7616 HA1 values and never stores the password', () => {
    const c = makeCredentials('alice', 'r', 'pw');
    expect(c.ha1Md5).to.equal(createHash('md5').update('alice:r:pw').digest('hex'));
    expect(c.ha1Sha256).to.equal(createHash('sha256').update('alice:r:pw').digest('hex'));
    expect(JSON.stringify(c)).not.to.include('pw"');
  });

  it('accepts a valid document', () => {
    const res = parseRegistryDocument(doc());
    expect(res.ok).to.equal(true);
  });

  it('names the bad field', () => {
    const d = doc() as unknown as { entries: Array<Record<string, unknown> & { keys: Array<Record<string, unknown>> }> };
    d.entries[1]!.keys[0]!.publicKey = 'AAAA';
    d.entries[0]!.role = 'king';
    const res = parseRegistryDocument(d);
    expect(res.ok).to.equal(false);
    if (res.ok) return;
    expect(res.errors).to.include('entries[1].keys[0].publicKey: not 32 bytes base64url');
    expect(res.errors).to.include('entries[0].role: must be one of guardian, expert, operator, moderator');
  });

  it('refuses a key registered to two identities (by key id and by public key)', () => {
    const d = doc();
    d.entries[1]!.keys.push({ ...d.entries[0]!.keys[0]!, kid: 'other-kid' });
    const res = parseRegistryDocument(d);
    expect(res.ok).to.equal(false);
    if (!res.ok) expect(res.errors).to.deep.equal(['entries[1].keys[1].publicKey: already registered at entries[0].keys[0]']);
    const d2 = doc();
    d2.entries[1]!.keys[0]!.kid = d2.entries[0]!.keys[0]!.kid;
    const res2 = parseRegistryDocument(d2);
    expect(res2.ok).to.equal(false);
    if (!res2.ok) expect(res2.errors[0]).to.match(/^entries\[1\]\.keys\[0\]\.kid: already registered/);
  });

  it('refuses duplicate usernames (case-insensitively) and clear passwords', () => {
    const d = doc() as unknown as { entries: Array<{ sip: Record<string, unknown> }> };
    d.entries[1]!.sip.username = 'T-01';
    d.entries[1]!.sip.password = 'x';
    const res = parseRegistryDocument(d);
    expect(res.ok).to.equal(false);
    if (!res.ok) {
      expect(res.errors).to.include('entries[1].sip.password: clear passwords are not stored; use HA1 values');
    }
    const d2 = doc();
    d2.entries[1]!.sip.username = 't-01';
    const r2 = parseRegistryDocument(d2);
    expect(r2.ok).to.equal(false);
    if (!r2.ok) expect(r2.errors).to.deep.equal(['entries[1].sip.username: duplicate of entries[0].sip.username']);
  });

  it('never throws on garbage', () => {
    for (const v of [null, 3, 'x', [], { version: 1, entries: [null, 1, { sip: 5, keys: 'k', limits: [] }] }]) {
      const res = parseRegistryDocument(v);
      expect(res.ok).to.equal(false);
    }
  });

  it('loads from file, looks up by username/kid, reloads, and keeps the old contents on a bad file', async () => {
    const path = join(dir, 'registry.json');
    await writeRegistryFile(path, doc());
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const loaded = await FileRegistry.load(path);
    expect(loaded.ok).to.equal(true);
    if (!loaded.ok) return;
    const reg = loaded.registry;
    expect((await reg.byUsername('T-01'))?.id).to.equal('T-01');
    expect((await reg.byKeyId(a.kid))?.entry.id).to.equal('T-01');

    const suspended = setStatus(doc(), 'C-01', 'suspended');
    expect(suspended.ok).to.equal(true);
    if (suspended.ok) await writeRegistryFile(path, suspended.doc);
    expect((await reg.reload()).ok).to.equal(true);
    expect((await reg.byId('C-01'))?.status).to.equal('suspended');

    writeFileSync(path, '{"version":1,"entries":[{"id":');
    const bad = await reg.reload();
    expect(bad.ok).to.equal(false);
    expect((await reg.byId('C-01'))?.status).to.equal('suspended');
    expect((await reg.list()).length).to.equal(2);
  });

  it('reports a missing file without throwing', async () => {
    const res = await FileRegistry.load(join(dir, 'missing.json'));
    expect(res.ok).to.equal(false);
    if (!res.ok) expect(res.errors[0]).to.match(/cannot read: ENOENT/);
  });

  it('edits keep the invariants: add duplicate refused, rotate with retire replaces keys', () => {
    expect(addEntry(doc(), structuredClone(a.entry)).ok).to.equal(false);
    const c = makeIdentity('E-01');
    const rot = rotateKey(doc(), 'T-01', c.entry.keys[0]!, true);
    expect(rot.ok).to.equal(true);
    if (rot.ok) expect(rot.doc.entries[0]!.keys.map((k) => k.kid)).to.deep.equal([c.kid]);
    const stolen = rotateKey(doc(), 'T-01', b.entry.keys[0]!, false);
    expect(stolen.ok).to.equal(false);
    expect(setStatus(doc(), 'nobody', 'suspended').ok).to.equal(false);
  });
});
