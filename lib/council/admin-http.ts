/**
 * Operator endpoint for councils (council.admin): list rooms and participants, kick, mute and
 * unmute. Bearer token (COUNCIL_ADMIN_TOKEN) compared in constant time; a missing or wrong token
 * gets 401 and nothing else. Answers carry seat ids, roles and legs only, never numbers or names.
 *
 *   GET  /council/rooms                               rooms with seats taken (all instances)
 *   GET  /council/rooms/<room>/members                seats (all instances) + this instance's participants
 *   POST /council/rooms/<room>/members/<seat>/kick    (mute, unmute)  seats held by this instance
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { BearerToken } from '../ops/bearer.js';
import { UnknownSeatError, type CouncilService } from './service.js';

export class CouncilAdminServer {
  private server: http.Server | undefined;
  private readonly token: BearerToken;

  constructor(
    private readonly service: CouncilService,
    private readonly o: { host: string; port: number; token: string; log: Logger },
  ) {
    this.token = new BearerToken(o.token);
  }

  async start(): Promise<number> {
    const srv = http.createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        this.o.log.warn('council admin request failed', { error: (e as Error).message });
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
      });
    });
    this.server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.o.port, this.o.host, () => resolve());
    });
    return (srv.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    if (!this.token.admits(req)) return send(res, 401, { error: 'unauthorised' }, { 'WWW-Authenticate': 'Bearer' });
    const path = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
    const rooms = this.service.rooms;
    if (path[0] !== 'council' || path[1] !== 'rooms') return send(res, 404, { error: 'not found' });
    if (path.length === 2 && req.method === 'GET') {
      const out = await Promise.all(rooms.map(async (r) => ({ name: r.name, maxMembers: r.maxMembers, seats: (await this.service.seats(r.name)).length })));
      return send(res, 200, { rooms: out });
    }
    const room = rooms.find((r) => r.name === path[2]);
    if (!room) return send(res, 404, { error: 'no such room' });
    if (path.length === 4 && path[3] === 'members' && req.method === 'GET') {
      const seats = (await this.service.seats(room.name)).map(({ seatId, role, leg, instance, joinedAt }) => ({ seatId, role, leg, instance, joinedAt }));
      return send(res, 200, { room: room.name, seats, here: this.service.list(room.name) });
    }
    if (path.length === 6 && path[3] === 'members' && req.method === 'POST') {
      const seat = path[4]!;
      if (!this.service.list(room.name).some((p) => p.seatId === seat)) return send(res, 404, { error: 'no such participant at this instance' });
      const action = path[5];
      try {
        if (action === 'kick') return send(res, 200, await this.service.kick(seat));
        if (action === 'mute') return send(res, 200, await this.service.mute(seat));
        if (action === 'unmute') return send(res, 200, await this.service.unmute(seat));
      } catch (e) {
        if (e instanceof UnknownSeatError) return send(res, 404, { error: 'no such participant at this instance' });
        throw e;
      }
      return send(res, 404, { error: 'unknown action' });
    }
    return send(res, 405, { error: 'method not allowed' });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}
