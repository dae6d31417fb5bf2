/**
 * Sign-in, one implementation per AUTH mode (dev: name-only form; firebase: Firebase session
 * cookies), chosen once at start-up. HTTP routes and the Socket.IO handshake both ask
 * `authenticate`, so a page and a socket always agree on who the user is.
 */
import type { IncomingMessage } from 'node:http';
import type { Router } from 'express';
import type { UserProfile } from '../shared/types.js';

export interface AuthProvider {
  /**
   * Routes of this mode: GET /login, POST /login (dev) or POST /sessionLogin (firebase),
   * POST /logout and /sessionLogout. Mounted after the session, security and CSRF middleware.
   */
  router: Router;
  /**
   * The signed-in user of a request — an Express request or a Socket.IO handshake request
   * (the session middleware has run on both) — or null. Never throws for a bad credential.
   */
  authenticate(req: IncomingMessage): Promise<UserProfile | null>;
}
