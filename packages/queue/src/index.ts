import { Queue, Worker, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { type Payload, type QueueKey, catalog } from './catalog.ts';

export { catalog, type Payload, type QueueKey } from './catalog.ts';
export { UnrecoverableError, type Job } from 'bullmq';

/** A connection to one Redis or to a Redis Cluster: every Redis use of the service takes either. */
export type RedisConnection = Redis | Cluster;

/**
 * Where Redis is, as @signals/config parses REDIS_URL: `url` for one Redis, plus `cluster` (seed
 * nodes and credentials) for a Redis Cluster.
 */
export interface RedisTarget {
  url: string;
  cluster?: {
    nodes: { host: string; port: number }[];
    username?: string;
    password?: string;
    tls: boolean;
  };
}

/** Per-connection options of a cluster client (its nodes' connections) besides the cluster's own. */
export interface CreateRedisExtra extends RedisOptions {
  /** Cluster only: options of the cluster client itself (e.g. clusterRetryStrategy). */
  cluster?: Omit<ClusterOptions, 'redisOptions'>;
}

/**
 * Redis connections. Workers block on Redis and must retry forever (maxRetriesPerRequest: null);
 * producers in HTTP handlers fail fast instead of queueing commands while Redis is away. A target
 * with `cluster` gives an ioredis Cluster with the same behaviour per role (BullMQ reads
 * maxRetriesPerRequest from the cluster's redisOptions). A plain string is one Redis.
 */
export function createRedis(url: string, role: 'worker' | 'producer', extra?: CreateRedisExtra): Redis;
export function createRedis(
  target: string | RedisTarget,
  role: 'worker' | 'producer',
  extra?: CreateRedisExtra,
): RedisConnection;
export function createRedis(
  target: string | RedisTarget,
  role: 'worker' | 'producer',
  extra: CreateRedisExtra = {},
): RedisConnection {
  const t = typeof target === 'string' ? { url: target } : target;
  const { cluster: clusterExtra, ...redisExtra } = extra;
  const perRole = { maxRetriesPerRequest: role === 'worker' ? null : 1 };
  if (!t.cluster) {
    // A cluster URL that skipped @signals/config would reach ioredis as a bogus single host.
    if (/^rediss?\+cluster:/i.test(t.url)) throw new Error('parse cluster URLs with parseRedisUrl (@signals/config)');
    return new Redis(t.url, { ...perRole, enableOfflineQueue: role === 'worker', lazyConnect: false, ...redisExtra });
  }
  const c = t.cluster;
  return new Cluster(c.nodes, {
    enableOfflineQueue: role === 'worker',
    lazyConnect: false,
    ...clusterExtra,
    redisOptions: {
      ...perRole,
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(c.tls ? { tls: {} } : {}),
      ...redisExtra,
    },
  });
}

export interface QueueSet {
  get<K extends QueueKey>(key: K): Queue;
  add<K extends QueueKey>(key: K, payload: Payload<K>, opts?: JobsOptions): Promise<Job>;
  addBulk<K extends QueueKey>(key: K, jobs: { payload: Payload<K>; opts?: JobsOptions }[]): Promise<Job[]>;
  /**
   * Enqueues delivery jobs after the transaction that wrote them committed. The job id is
   * `<deliveryId>-<attempt>[-tag]` (BullMQ ids may not hold ":"): enqueuing the same attempt twice (sweeper + producer) is a no-op,
   * and a later attempt is a new job.
   */
  enqueueDeliveries(
    items: { id: string; attempt?: number; delayMs?: number; tag?: string }[],
    opts?: { batchSize?: number },
  ): Promise<void>;
  /**
   * The deliveries among `items` that have no live job in Redis (neither `<id>-<attempt>` nor its
   * sweeper twin is waiting, delayed or active): what a sweeper must enqueue again.
   */
  deliveriesWithoutJob(items: { id: string; attempt: number }[]): Promise<{ id: string; attempt: number }[]>;
  all(): Queue[];
  close(): Promise<void>;
}

/** Producers for every queue in the catalog, validating payloads before they go to Redis. */
export function createQueues(connection: RedisConnection, prefix: string): QueueSet {
  const queues = new Map<QueueKey, Queue>();
  const get = (key: QueueKey): Queue => {
    let q = queues.get(key);
    if (!q) {
      const def = catalog[key];
      q = new Queue(def.name, { connection, prefix, defaultJobOptions: def.options });
      queues.set(key, q);
    }
    return q;
  };
  return {
    get,
    async add(key, payload, opts) {
      const def = catalog[key];
      return get(key).add(def.name, def.payload.parse(payload), opts);
    },
    async addBulk(key, jobs) {
      const def = catalog[key];
      return get(key).addBulk(jobs.map((j) => ({ name: def.name, data: def.payload.parse(j.payload), opts: j.opts })));
    },
    async enqueueDeliveries(items, opts = {}) {
      if (items.length === 0) return;
      const def = catalog.deliveries;
      const size = Math.max(1, Math.min(100, opts.batchSize ?? 1));
      // Items due at the same time travel together, `size` per job; the job id is its first
      // member's, so a sweeper finds it.
      const byDelay = new Map<number, typeof items>();
      for (const it of items) {
        const d = it.delayMs && it.delayMs > 0 ? it.delayMs : 0;
        const list = byDelay.get(d) ?? [];
        if (list.length === 0) byDelay.set(d, list);
        list.push(it);
      }
      const jobs: { name: string; data: Payload<'deliveries'>; opts: JobsOptions }[] = [];
      for (const [delay, list] of byDelay) {
        for (let i = 0; i < list.length; i += size) {
          const chunk = list.slice(i, i + size);
          const first = chunk[0] as (typeof items)[number];
          jobs.push({
            name: def.name,
            data: {
              deliveryId: first.id,
              attempt: first.attempt ?? 0,
              ...(chunk.length > 1 ? { batch: chunk.map((c) => ({ id: c.id, attempt: c.attempt ?? 0 })) } : {}),
            },
            opts: {
              jobId: `${first.id}-${first.attempt ?? 0}${first.tag ? `-${first.tag}` : ''}`,
              delay: delay > 0 ? delay : undefined,
            },
          });
        }
      }
      await get('deliveries').addBulk(jobs);
    },
    async deliveriesWithoutJob(items) {
      if (items.length === 0) return [];
      const q = get('deliveries');
      const pipe = connection.pipeline();
      for (const it of items) {
        pipe.hmget(q.toKey(`${it.id}-${it.attempt}`), 'timestamp', 'finishedOn');
        pipe.hmget(q.toKey(`${it.id}-${it.attempt}-sweep`), 'timestamp', 'finishedOn');
      }
      const res = (await pipe.exec()) ?? [];
      const live = (k: number) => {
        const v = res[k]?.[1] as (string | null)[] | undefined;
        return !!v?.[0] && !v[1];
      };
      return items.filter((_, i) => !live(2 * i) && !live(2 * i + 1));
    },
    all: () => (Object.keys(catalog) as QueueKey[]).map(get),
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** A worker whose handler receives a validated payload; a payload that does not parse is not retried. */
export function createWorker<K extends QueueKey>(
  key: K,
  handler: (payload: Payload<K>, job: Job) => Promise<unknown>,
  opts: { connection: RedisConnection; prefix: string } & Omit<WorkerOptions, 'connection' | 'prefix'>,
): Worker {
  const def = catalog[key];
  return new Worker(
    def.name,
    async (job) => {
      const parsed = def.payload.safeParse(job.data);
      if (!parsed.success) {
        const { UnrecoverableError } = await import('bullmq');
        throw new UnrecoverableError(`invalid ${def.name} payload: ${parsed.error.message}`);
      }
      return handler(parsed.data as Payload<K>, job);
    },
    opts,
  );
}
