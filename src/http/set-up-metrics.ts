/**
 * GET /metrics (CONTRACT): the node's Prometheus registry, answered only to a client on this
 * machine or to one holding METRICS_TOKEN; to anyone else it is an unknown route (404), so the
 * page does not even say it exists. Mounted before request logging: scrapes come every few
 * seconds and would drown the request log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type { Metrics } from '../metrics.js';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

export const isLoopback = (address: string | undefined): boolean => address !== undefined && LOOPBACK.test(address);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface MetricsCaller {
  /** The TCP peer: the socket's remote address. */
  peer: string | undefined;
  /**
   * The client as Express sees it (`req.ip`): the peer itself unless `trust proxy` is set, then
   * the address the trusted proxy says it forwarded for.
   */
  client: string | undefined;
  authorization: string | undefined;
}

/**
 * Loopback means both the peer and the client are this machine: with a trusted proxy on the
 * same host (haproxy, a sidecar) every peer is loopback and only `client` tells a browser on
 * the internet from a local scraper; without a trusted proxy `client` is the peer and a
 * client's own X-Forwarded-For counts for nothing. A token is compared in constant time.
 */
export function metricsAllowed(caller: MetricsCaller, token: string | null): boolean {
  if (isLoopback(caller.peer) && isLoopback(caller.client)) return true;
  if (token === null) return false;
  const m = /^Bearer ([^\s]+)$/.exec(caller.authorization ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

export function callerOf(req: Request): MetricsCaller {
  return { peer: req.socket.remoteAddress, client: req.ip, authorization: req.get('authorization') };
}

export function setUpMetrics(metrics: Metrics, token: string | null): Router {
  const router = express.Router();
  router.get('/metrics', async (req, res, next) => {
    // Anyone else falls through to the 404 of an unknown route.
    if (!metricsAllowed(callerOf(req), token)) return next();
    res.set('Cache-Control', 'no-store');
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
