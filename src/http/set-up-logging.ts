/**
 * One log line per request: method, path (no query string: it can hold search text), status,
 * duration, request id (ours, or App Engine's trace id) and the signed-in user's id. Never
 * headers or cookies: a session cookie in a log is a session anyone with the logs can use, and
 * pino-http's default line (every header) was ~1.7 KB.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';

const idPattern = /^[\w.:/=-]{1,128}$/;

type Req = IncomingMessage & { id?: unknown; originalUrl?: string; session?: { uid?: unknown } };
type Res = ServerResponse & { locals?: { user?: { uid?: unknown } | null } };

/** The fields of a request's log line, besides `reqId` (the logger's binding). */
export function requestFields(req: Req, res: Res, durationMs: number): Record<string, unknown> {
  const uid = res.locals?.user?.uid ?? req.session?.uid;
  return {
    method: req.method,
    path: (req.originalUrl ?? req.url ?? '').split('?')[0],
    status: res.statusCode,
    durationMs,
    ...(typeof uid === 'string' ? { uid } : {}),
  };
}

export function setUpRequestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers['x-request-id'] ?? req.headers['x-cloud-trace-context'];
      const id = typeof given === 'string' && idPattern.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // req.log and res.log (and so the line) carry the request id as `reqId`, not the whole request.
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'reqId' },
    customSuccessObject: (req, res, val: { responseTime: number }) => requestFields(req, res, val.responseTime),
    // A 5xx without an error gets pino-http's made-up "failed with status code …": left out.
    customErrorObject: (req, res, err, val: { responseTime: number }) => ({
      ...requestFields(req, res, val.responseTime),
      ...(/^failed with status code/.test(err.message) ? {} : { err: err.message }),
    }),
    // Health probes arrive every few seconds; logging each drowns everything else.
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    // 503 is the store (or Redis at start-up) not answering: logged where it is met, a warning here.
    customLogLevel: (_req, res, err) =>
      err ? 'error' : res.statusCode === 503 ? 'warn' : res.statusCode >= 500 ? 'error' : 'info',
  }) as unknown as RequestHandler;
}
