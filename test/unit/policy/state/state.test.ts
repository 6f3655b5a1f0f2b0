import { expect } from 'chai';
import { ManualClock } from '../../../../lib/state/types.js';
import { MemoryCallLedger, MemoryCounterStore, MemoryTokenBuckets, MemoryTtlSet } from '../../../../lib/state/memory.js';

describe('policy/state: in-memory stores', () => {
  it('token bucket: capacity, refill by the injected clock, retry-after', async () => {
    const clock = new ManualClock(0);
    const b = new MemoryTokenBuckets(clock);
    for (let i = 0; i < 3; i++) expect((await b.take('k', 1, 3, 1)).allowed).to.equal(true);
    const denied = await b.take('k', 1, 3, 1);
    expect(denied).to.deep.equal({ allowed: false, remaining: 0, retryAfterMs: 1000 });
    clock.advance(500);
    expect((await b.take('k', 1, 3, 1)).retryAfterMs).to.equal(500);
    clock.advance(500);
    expect((await b.take('k', 1, 3, 1)).allowed).to.equal(true);
    expect((await b.take('other', 1, 3, 1)).allowed).to.equal(true);
  });

  it('ttl set: add-if-absent until expiry', async () => {
    const clock = new ManualClock(0);
    const s = new MemoryTtlSet(clock);
    expect(await s.addIfAbsent('sig', 1000)).to.equal(true);
    expect(await s.addIfAbsent('sig', 1000)).to.equal(false);
    expect(await s.ttl('sig')).to.equal(1000);
    clock.advance(1000);
    expect(await s.addIfAbsent('sig', 1000)).to.equal(true);
  });

  it('stays bounded under a flood of distinct keys', async () => {
    const s = new MemoryTtlSet(new ManualClock(0), 1000);
    for (let i = 0; i < 5000; i++) await s.addIfAbsent(`k${i}`, 60_000);
    expect(s.size).to.be.at.most(1000);
  });

  it('counters: windowed incr and raiseTo high-water mark', async () => {
    const clock = new ManualClock(0);
    const c = new MemoryCounterStore(clock);
    expect(await c.incr('a', 1000)).to.equal(1);
    expect(await c.incr('a', 1000)).to.equal(2);
    clock.advance(1000);
    expect(await c.incr('a', 1000)).to.equal(1);
    expect(await c.raiseTo('nc', 1, 1000)).to.equal(true);
    expect(await c.raiseTo('nc', 1, 1000)).to.equal(false);
    expect(await c.raiseTo('nc', 3, 1000)).to.equal(true);
    expect(await c.raiseTo('nc', 2, 1000)).to.equal(false);
  });

  it('call ledger: cap, bandwidth sum, release', async () => {
    const l = new MemoryCallLedger();
    expect((await l.tryAdd('a', 'c1', 2)).ok).to.equal(true);
    expect(await l.tryAdd('a', 'c1', 2)).to.deep.equal({ ok: false, duplicate: true, calls: 1, otherBps: 0 });
    expect((await l.tryAdd('b', 'c1', 2)).duplicate).to.equal(true); // another owner cannot take it over
    expect((await l.tryAdd('a', 'c2', 2)).ok).to.equal(true);
    expect((await l.tryAdd('a', 'c3', 2)).ok).to.equal(false);
    expect((await l.trySetBandwidth('a', 'c1', 2_000_000, 3_000_000)).ok).to.equal(true);
    expect((await l.trySetBandwidth('b', 'c1', 1, 3_000_000)).ok).to.equal(false);
    const r = await l.trySetBandwidth('a', 'c2', 1_500_000, 3_000_000);
    expect(r).to.deep.equal({ ok: false, calls: 2, otherBps: 2_000_000 });
    await l.release('c1');
    expect(await l.usage('a')).to.deep.equal({ calls: 1, bps: 0 });
    await l.release('c2');
    expect(await l.usage('a')).to.deep.equal({ calls: 0, bps: 0 });
  });
});
