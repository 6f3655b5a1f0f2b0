/**
 * The lab both FreeSWITCH-anchored failover tests share: one drachtio (double or DRACHTIO_*), one
 * redis-server, one FreeSWITCH (double or FS_*) and two gateway processes ("gw-a" connected
 * first, then "gw-b") with HA on Redis, plus a reader of the HA call records the instances keep
 * there and the test's own ESL connection to that FreeSWITCH (CHANNEL_BRIDGE and
 * CHANNEL_HANGUP_COMPLETE subscribed).
 */
import { Redis } from 'ioredis';
import { startDrachtioTarget, type DrachtioTarget } from '../../lab/drachtio-target.js';
import { FreeSwitchDouble } from '../../lab/freeswitch-double/double.js';
import { EslClient, fsTarget, type FsTarget } from '../../support/esl.js';
import { realFsFromEnv } from '../freeswitch-double/harness.js';
import { startGateway, type GatewayProcess } from '../../lab/gateway-process.js';
import { freePort } from '../../lab/ports.js';
import { testRedis, type RedisServer } from '../../lab/redis-server.js';
import { parseRecord, type CallRecord } from '../../../lib/ha/records.js';

const ESL_SECRET = 'lab-esl-secret';

export class HaMediaLab {
  readonly gws: GatewayProcess[] = [];
  /** H.225 listener port of each gateway, in the order of `gws`. */
  readonly listeners: number[] = [];

  private constructor(
    readonly target: DrachtioTarget,
    private readonly redis: { url: string; server?: RedisServer },
    readonly client: Redis,
    /** Undefined when a real FreeSWITCH (FS_*) is used. */
    readonly fs: FreeSwitchDouble | undefined,
    readonly fsEsl: FsTarget,
    /** The test's own ESL connection to the lab's FreeSWITCH. */
    readonly esl: EslClient,
    /** Key prefix of this lab's state in Redis. */
    readonly prefix: string,
  ) {}

  static async start(name: string): Promise<HaMediaLab> {
    const target = await startDrachtioTarget();
    const redis = await testRedis();
    const fs = realFsFromEnv() ? undefined : await FreeSwitchDouble.start({ eslPassword: ESL_SECRET, sipPort: 0, eslPort: 0 });
    const fsEsl = fsTarget(fs, ESL_SECRET);
    const esl = await EslClient.connect(fsEsl);
    await esl.subscribe(['CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE']);
    return new HaMediaLab(target, redis, new Redis(redis.url), fs, fsEsl, esl, `gw:${name}:${process.pid}:`);
  }

  /**
   * gw-a, then gw-b, each connected before the next starts (the round robin hands gw-a the first
   * INVITE), with `extra` merged into the shared config (dial plan, council...).
   */
  async startGateways(extra: Record<string, unknown>): Promise<void> {
    for (const name of ['gw-a', 'gw-b']) {
      const port = await freePort();
      const gw = await startGateway({
        config: {
          drachtio: { host: this.target.host, port: this.target.port },
          policy: { enabled: false },
          media: { esl: { host: this.fsEsl.host, port: this.fsEsl.port }, listen: { address: '127.0.0.1', port: 0 } },
          h323: {
            ras: { host: '127.0.0.1', port: 0 },
            callSignalAddress: { host: '127.0.0.1', port },
            neighbours: [{ name: 'GK', host: '127.0.0.1' }],
          },
          state: { backend: 'redis', keyPrefix: this.prefix },
          // 1.5 s TTL: above the default, so a slow shared CI machine does not take a live
          // instance for dead (see docs/ha.md, Measured).
          ha: { instanceId: name, heartbeatMs: 250, ttlMs: 1500, pollMs: 250 },
          ...extra,
        },
        env: { DRACHTIO_SECRET: this.target.secret, FS_ESL_SECRET: this.fsEsl.secret, REDIS_URL: this.redis.url },
      });
      this.gws.push(gw);
      this.listeners.push(port);
      await gw.waitForOutput(/connected to drachtio-server/);
    }
  }

  /** The HA call records in Redis, by live member id. */
  async records(): Promise<Map<string, CallRecord[]>> {
    const out = new Map<string, CallRecord[]>();
    for (const id of await this.client.smembers(`${this.prefix}ha:members`)) {
      const all = await this.client.hgetall(`${this.prefix}ha:calls:${id}`);
      out.set(id, Object.values(all).map((j) => parseRecord(j)).filter((r): r is CallRecord => r !== undefined));
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const gw of this.gws) await gw.stop('SIGKILL', 0).catch(() => undefined);
    this.esl.close();
    await this.fs?.stop();
    this.client.disconnect();
    await this.redis.server?.stop();
    await this.target.stop();
  }
}
