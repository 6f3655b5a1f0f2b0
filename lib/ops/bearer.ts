/**
 * Bearer-token check shared by the admin endpoints (config reload, council operator). The token
 * is hashed once; a presented token is hashed too, so timingSafeEqual always compares equal
 * lengths and the time taken says nothing about the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export class BearerToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = createHash('sha256').update(token).digest();
  }

  /** True when the request carries `Authorization: Bearer <the token>`. */
  admits(req: IncomingMessage): boolean {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1] as string).digest(), this.digest);
  }
}
