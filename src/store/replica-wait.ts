/**
 * On a Redis Cluster, a message is acknowledged only once a replica of its shard has it too.
 * Replication is asynchronous: a master SIGKILLed right after answering a write may not have
 * passed it on, and its promoted replica would not have it — an acknowledged message lost. So
 * after the posting script the store sends `WAIT 1 <ms>` on the same connection to the room's
 * master (WAIT covers every earlier write of that connection, so concurrent posts share it).
 *
 * A shard without a connected replica cannot do better than its master: it is not waited on
 * (each node's replica count is read from `INFO replication` and refreshed every few seconds),
 * and a WAIT that times out acknowledges anyway — the message is stored; refusing it would only
 * make the page resend it and get the stored one back.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type ReplicaWait = (key: string) => Promise<void>;

/** A WAIT that failed: the message's outcome is unknown (answered `service unavailable`). */
export class ReplicaWaitFailed extends Error {
  constructor(cause: unknown) {
    super(`replica wait failed, outcome unknown: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ReplicaWaitFailed';
  }
}

const REFRESH_MS = 5000;

export function createReplicaWait(cluster: Cluster, timeoutMs: number, logger: Logger): ReplicaWait {
  const replicas = new Map<string, { count: number; at: number; refreshing: boolean }>();
  const keyOf = (node: Redis): string => `${node.options.host}:${node.options.port}`;

  const refresh = (node: Redis, entry: { count: number; at: number; refreshing: boolean }): void => {
    if (entry.refreshing) return;
    entry.refreshing = true;
    node
      .info('replication')
      .then((info) => {
        entry.count = Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
        entry.at = Date.now();
      })
      .catch(() => undefined)
      .finally(() => {
        entry.refreshing = false;
      });
  };

  return async (key) => {
    const nodeKey = cluster.slots[calculateSlot(key)]?.[0];
    if (!nodeKey) return;
    const node = cluster.nodes('master').find((n) => keyOf(n) === nodeKey);
    if (!node) return;
    let entry = replicas.get(nodeKey);
    // Until the first INFO answers, a master is taken to have a replica (the safe side).
    if (!entry) replicas.set(nodeKey, (entry = { count: 1, at: 0, refreshing: false }));
    if (Date.now() - entry.at > REFRESH_MS) refresh(node, entry);
    if (entry.count === 0) return;
    let acked: number;
    try {
      acked = await node.wait(1, timeoutMs);
    } catch (err) {
      // The master was demoted or lost between the write and the WAIT ("WAIT cannot be used
      // with replica instances", a closed connection): whether its replica got the message is
      // not known. Not an internal error: the page resends it by client_id, which answers the
      // stored message if it survived.
      throw new ReplicaWaitFailed(err);
    }
    if (acked < 1) {
      logger.warn({ node: nodeKey, timeoutMs }, 'no replica confirmed a message in time: acknowledged anyway');
      entry.at = 0;
    }
  };
}
