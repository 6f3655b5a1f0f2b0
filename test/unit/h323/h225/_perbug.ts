import { decode, integer, sequenceOf, size, encode } from '../../../../lib/h323/per/index.js';
const t = (name: string, f: () => unknown) => { try { console.log(name, JSON.stringify(f())); } catch (e) { console.log(name, 'threw', (e as Error).message); } };
t('INTEGER(0..8191) from 0x7f00', () => decode(integer(0, 8191), Uint8Array.of(0x7f, 0x00)));
t('INTEGER(0..4) from 0xe0', () => decode(integer(0, 4), Uint8Array.of(0xe0)));
t('SEQUENCE SIZE(1..15) OF INTEGER(0..1): count 16', () => decode(sequenceOf(integer(0, 1), size(1, 15)), Uint8Array.of(0xff, 0xff, 0xf0)));
t('encode INTEGER(0..8191) 32512', () => encode(integer(0, 8191), 32512));
