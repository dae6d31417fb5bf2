/** The last two handlers: 404, then errors (stack traces never reach a client in production). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { isStoreUnavailable } from '../store/unavailable.js';

const wantsJson = (path: string, accept: string | undefined): boolean =>
  path.startsWith('/chat/') || path === '/sessionLogin' || (accept ?? '').includes('application/json');

export function notFound(): RequestHandler {
  return (req, res) => {
    if (wantsJson(req.path, req.get('accept'))) res.status(404).json({ status: 'ERROR', error: 'not found' });
    else res.status(404).render('error.njk', { status: 404, message: 'Page not found' });
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string };
    // The store not answering is 503 (try again), whether a route or the session store met it.
    const status = isStoreUnavailable(err) ? 503 : (e.status ?? e.statusCode ?? 500);
    // body-parser's errors (bad JSON, too large) are the client's: say what, without internals.
    const clientError = status >= 400 && status < 500;
    if (status === 503) logger.warn({ err: e.message, url: req.originalUrl }, 'store unavailable');
    else if (!clientError) logger.error({ err, url: req.originalUrl }, 'request failed');
    if (res.headersSent) return;
    const message =
      status === 503
        ? 'service unavailable'
        : clientError && e.expose !== false
          ? (e.message ?? 'bad request')
          : 'internal error';
    if (wantsJson(req.path, req.get('accept'))) res.status(status).json({ status: 'ERROR', error: message });
    else res.status(status).render('error.njk', { status, message });
  };
}
