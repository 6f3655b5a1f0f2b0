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

  async decide(req: PolicyRequest): Promise<Decision> {
    const names = req.headerNames();
    if (names.length > this.limits.maxHeaders) return reject(513, 'Message Too Large', 'too-many-headers');
    let total = 0;
    for (const n of names) {
      const v = req.header(n) ?? '';
      const len = Buffer.byteLength(v) + n.length;
      if (len > this.limits.maxHeaderValueBytes) return reject(513, 'Message Too Large', 'header-too-large');
      total += len;
    }
    if (total > this.limits.maxHeaderBytes) return reject(513, 'Message Too Large', 'headers-too-large');
    if (Buffer.byteLength(req.body ?? '') > this.limits.maxBodyBytes) return reject(413, 'Request Entity Too Large', 'body-too-large');
    return admit();
  }
}
