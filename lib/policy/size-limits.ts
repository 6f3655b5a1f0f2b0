/**
 * First gate: refuses oversized requests before any parser or regex looks at them, so huge
 * headers or bodies cost nothing further. 513 for oversized headers, 413 for an oversized body.
 */
import { admit, reject, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface SizeLimits {
  maxHeaderValueBytes: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
}

export const DEFAULT_SIZE_LIMITS: SizeLimits = { maxHeaderValueBytes: 4096, maxHeaderBytes: 16 * 1024, maxHeaders: 100, maxBodyBytes: 64 * 1024 };

export class SizeGate implements Gate {
  readonly name = 'size';
  readonly methods: readonly string[] = ['INVITE', 'REGISTER', 'MESSAGE', 'INFO', 'SUBSCRIBE', 'OPTIONS', 'UPDATE', 'NOTIFY', 'REFER'];
  constructor(private readonly limits: SizeLimits = DEFAULT_SIZE_LIMITS) {}

  decide(req: PolicyRequest): Decision {
    const names = req.headerNames();
    const lim = this.limits;
    if (names.length > lim.maxHeaders) return reject(513, 'Message Too Large', 'too-many-headers');
    // UTF-8 needs at most 3 bytes per UTF-16 code unit, so lengths give an upper bound; exact
    // byte counts are taken only where that bound could exceed a limit.
    let total = 0;
    for (const n of names) {
      const v = req.header(n) ?? '';
      let len = v.length * 3 + n.length;
      if (len > lim.maxHeaderValueBytes) {
        len = Buffer.byteLength(v) + n.length;
        if (len > lim.maxHeaderValueBytes) return reject(513, 'Message Too Large', 'header-too-large');
      }
      total += len;
    }
    if (total > lim.maxHeaderBytes) {
      total = 0;
      for (const n of names) total += Buffer.byteLength(req.header(n) ?? '') + n.length;
    }
    if (total > lim.maxHeaderBytes) return reject(513, 'Message Too Large', 'headers-too-large');
    const body = req.body ?? '';
    if (body.length * 3 > lim.maxBodyBytes && Buffer.byteLength(body) > lim.maxBodyBytes) return reject(413, 'Request Entity Too Large', 'body-too-large');
    return admit();
  }
}
