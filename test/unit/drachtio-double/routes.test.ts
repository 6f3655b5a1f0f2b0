/**
 * The double's model of drachtio-server v0.9.10's routing table (test/lab/drachtio-double/routes.ts).
 * Each sequence below is what the real server (/opt/real/drachtio/bin/drachtio, fresh process,
 * raw control-protocol apps, one request at a time) picked; see docs/testing-doubles.md.
 */
import { expect } from 'chai';
import { RouteTable, SMALL_SIZE_THRESHOLD } from '../../lab/drachtio-double/routes.js';

describe('drachtio double: route table (real server sequences)', () => {
  const names = ['-', 'A', 'B', 'C', 'D', 'E', 'P'];
  const A = 1, B = 2, C = 3, D = 4, E = 5, P = 6;
  let t: RouteTable;
  let live: Set<number>;
  const route = (app: number, ...verbs: string[]): void => {
    live.add(app);
    for (const v of verbs) t.add(app, v);
  };
  const pick = (method: string, n: number): string => Array.from({ length: n }, () => names[t.select(method, (id) => live.has(id)) ?? 0]).join(' ');

  beforeEach(() => {
    t = new RouteTable();
    live = new Set();
  });

  it('repeated route adds entries; remove_route of a verb never routed drops them all', () => {
    route(A, 'invite');
    route(B, 'invite');
    expect(pick('INVITE', 4)).to.equal('A B A B');
    route(A, 'invite');
    expect(pick('INVITE', 6)).to.equal('B A A B A A');
    expect(t.removeApp(A)).to.equal(2); // remove_route|options
    expect(pick('INVITE', 3)).to.equal('B B B');
    route(A, 'invite');
    expect(pick('INVITE', 4)).to.equal('A B A B');
  });

  it('a third app goes in after the first entry; remove_route|invite drops options too; dead entries go when reached', () => {
    route(A, 'invite', 'options');
    route(B, 'invite', 'options');
    route(C, 'invite');
    expect(pick('INVITE', 6)).to.equal('A C B A C B');
    t.removeApp(A); // remove_route|invite
    expect(pick('OPTIONS', 4)).to.equal('B B B B');
    expect(pick('INVITE', 4)).to.equal('C B C B');
    live.delete(C); // C's connection closed: its entry stays until a selection reaches it
    expect(t.list('invite')).to.deep.equal([C, B]);
    route(D, 'invite');
    expect(pick('INVITE', 6)).to.equal('B D B D B D');
    expect(t.list('invite')).to.deep.equal([D, B]);
  });

  it(`with more than ${SMALL_SIZE_THRESHOLD} entries in the table a new entry goes first`, () => {
    const many = ['options', 'info', 'bye', 'register', 'message', 'notify', 'subscribe', 'refer', 'update', 'prack', 'cdr:attempt', 'cdr:start', 'cdr:stop', 'publish'];
    route(A, 'invite', ...many);
    route(B, ...many, 'invite');
    route(C, 'invite', ...many);
    route(E, ...many, 'invite');
    expect(t.size).to.equal(60);
    expect(pick('INVITE', 8)).to.equal('E C B A E C B A');
  });

  it(`the switch is at ${SMALL_SIZE_THRESHOLD} entries (19 others, then A, B, C, E route invite)`, () => {
    route(P, ...Array.from({ length: 19 }, (_, i) => `pad${i}`));
    route(A, 'invite');
    route(B, 'invite');
    route(C, 'invite');
    route(E, 'invite');
    expect(pick('INVITE', 8)).to.equal('E C A B E C A B');
  });

  it('no entry (or only dead ones): nobody; the verb is matched as routed, the method lower-cased', () => {
    expect(t.select('INVITE', () => true)).to.equal(undefined);
    route(A, 'INVITE');
    expect(t.select('INVITE', () => true)).to.equal(undefined);
    route(B, 'invite');
    live.delete(B);
    expect(t.select('INVITE', (id) => live.has(id))).to.equal(undefined);
    expect(t.list('invite')).to.deep.equal([]);
  });
});
