/**
 * /healthz (liveness, and the contract's "store answers" check) and /readyz (readiness: also
 * fails while the node drains for shutdown, so a load balancer stops sending it new clients).
 */
import express, { type Router } from 'express';
import type { ChatStore } from '../store/types.js';

export function setUpHealthChecks(store: ChatStore, isDraining: () => boolean, timeoutMs: number): Router {
  const router = express.Router();
  const storeAnswers = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  router.get('/healthz', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (await storeAnswers()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable' });
  });
  router.get('/readyz', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (isDraining()) res.status(503).json({ status: 'draining' });
    else if (await storeAnswers()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable' });
  });
  return router;
}
