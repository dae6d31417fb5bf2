/**
 * /healthz (liveness, and the contract's "store answers" check) and /readyz (readiness: also
 * fails while the node starts — Redis not ready yet — or drains for shutdown, so a load balancer
 * sends it no clients then). While the node starts every other route answers 503 (startingGate).
 */
import express, { type RequestHandler, type Router } from 'express';
import type { ChatStore } from '../store/types.js';

export function setUpHealthChecks(
  store: ChatStore,
  isDraining: () => boolean,
  timeoutMs: number,
  isReady: () => boolean = () => true,
): Router {
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
    else if (!isReady()) res.status(503).json({ status: 'starting' });
    else if (await storeAnswers()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable' });
  });
  return router;
}

/**
 * Until the node is ready (its Redis clients connected, the Socket.IO adapter made) every route
 * answers 503 with Retry-After, as a route whose store does not answer does (CONTRACT).
 */
export function startingGate(isReady: () => boolean): RequestHandler {
  return (req, res, next) => {
    if (isReady()) return next();
    res.status(503).set('Retry-After', '2').set('Cache-Control', 'no-store');
    if ((req.get('accept') ?? '').includes('text/html')) {
      res.render('error.njk', { status: 503, message: 'The chat is starting; try again in a moment.' });
    } else res.json({ status: 'ERROR', error: 'service unavailable' });
  };
}
