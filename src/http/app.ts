/** The Express app: one concern per middleware, in this order. */
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { readSignedOutNote } from '../auth/sign-in.js';
import type { AuthProvider } from '../auth/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Limiter } from '../store/limiter.js';
import type { ChatStore } from '../store/types.js';
import { loadAssets } from './assets.js';
import { chatRoutes, type ChatRouteDeps } from './chat-routes.js';
import { errorHandler, notFound } from './errors.js';
import { setUpHealthChecks, startingGate } from './set-up-health.js';
import { setUpRequestLogging } from './set-up-logging.js';
import { setUpMetrics } from './set-up-metrics.js';
import { setUpOriginCheck, setUpWebSecurity, type CspExtra } from './set-up-security.js';
import { setUpSignInLimit } from './set-up-sign-in-limit.js';
import { setUpStaticResources } from './set-up-static.js';
import { setUpViews } from './set-up-views.js';
import { currentUser, loadUser } from './require-user.js';

export interface AppDeps {
  root: string;
  config: Config;
  logger: Logger;
  store: ChatStore;
  auth: AuthProvider;
  session: RequestHandler;
  csp?: CspExtra;
  announceRoom: ChatRouteDeps['announceRoom'];
  /** Called (after the response) when a user signs out, to disconnect that session's sockets. */
  onSignOut: (info: { uid: string; sessionId: string | undefined }) => void;
  isDraining: () => boolean;
  /** False until the node's Redis clients are connected (every route but health and metrics: 503). */
  isReady?: () => boolean;
  metrics?: Metrics;
  limits: { signIns: Limiter; rooms: Limiter };
  /** Who is online (get_users' `online`). */
  presence: ChatRouteDeps['presence'];
}

export function createApp(deps: AppDeps): Express {
  const { config, logger, store, auth } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No ETag on what routes send: every page and JSON answer is `no-store`, so a validator is
  // never used, and computing one hashes the whole body (1.5 MB of GET /chat for a user in 1,000
  // rooms). Static files keep theirs (serve-static's own setting).
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  // The browser files' names: read once in production; in development again after each rebuild.
  const assets = loadAssets(path.join(deps.root, 'public', 'build'), !config.production);
  setUpViews(app, deps.root, config.production, assets);

  // Security headers first: health answers carry them too.
  app.use(setUpWebSecurity(config, deps.csp));
  const isReady = deps.isReady ?? (() => true);
  app.use(setUpHealthChecks(store, deps.isDraining, config.storeTimeoutMs, isReady));
  if (deps.metrics) app.use(setUpMetrics(deps.metrics, config.metricsToken));
  app.use(setUpRequestLogging(logger));
  app.use(startingGate(isReady));
  app.use(setUpStaticResources(deps.root, config.production, assets));
  app.use(setUpOriginCheck(config));
  app.use(express.json({ limit: '32kb' }));
  app.use(express.urlencoded({ extended: false, limit: '32kb' }));
  app.use(deps.session);
  // The signed-in user is resolved only where it is read (here and in chatRoutes): in Firebase
  // mode that is a revocation-checked call to the Auth backend, which the sign-in pages and 404s
  // do not need.
  app.use(['/logout', '/sessionLogout'], loadUser(auth), (req, res, next) => {
    const user = currentUser(res);
    const sessionId = req.sessionID;
    if (req.method === 'POST' && user) res.on('finish', () => deps.onSignOut({ uid: user.uid, sessionId }));
    next();
  });
  app.use(setUpSignInLimit(deps.limits.signIns, config.auth));
  app.use('/login', readSignedOutNote);
  app.use(auth.router);
  app.use(chatRoutes(deps));
  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}
