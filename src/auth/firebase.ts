/**
 * AUTH=firebase: the browser signs in with the Firebase JS SDK and trades the fresh ID token for
 * a firebase-admin session cookie (POST /sessionLogin). Every page, JSON call and socket
 * handshake verifies that cookie with the revocation check, so a sign-out (here, or by an
 * admin) takes effect on the very next request — at the price of one Auth backend round trip
 * per request and per connection.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { UserProfile } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';
import { createFirebaseSessions, SESSION_COOKIE_MAX_AGE_MS } from './firebase-admin.js';
import { readCookie } from './cookies.js';
import { ensureProfile } from './firebase-profile.js';
import { noteSignedOut } from './sign-in.js';
import type { AuthProvider } from './types.js';

export { firebaseCspSources } from './firebase-csp.js';

/** Firebase Hosting forwards only a cookie of this name to the backend. */
export const FIREBASE_SESSION_COOKIE = '__session';

/** ID tokens are about 1 KB; anything far larger is not one. */
const MAX_ID_TOKEN_CHARS = 8192;

export interface FirebaseAuthDeps {
  config: Config;
  store: ChatStore;
  logger: Logger;
}

export function createFirebaseAuth({ config, store, logger }: FirebaseAuthDeps): AuthProvider {
  const settings = config.firebase;
  if (config.auth !== 'firebase' || settings === null) throw new Error('createFirebaseAuth needs AUTH=firebase');
  const log = logger.child({ component: 'firebase-auth' });
  const fb = createFirebaseSessions(settings, config.production, log);

  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.production,
    path: '/',
  };

  async function authenticate(req: IncomingMessage): Promise<UserProfile | null> {
    const cookie = readCookie(req.headers.cookie, FIREBASE_SESSION_COOKIE);
    if (!cookie) return null;
    const claims = await fb.verify(cookie, true);
    if (!claims) return null;
    // A name refused at /sessionLogin gets no session cookie; a cookie without a profile is none.
    const profile = await ensureProfile(store, claims);
    return profile.ok ? profile.profile : null;
  }

  const router = express.Router();
  // Only the one route that reads a body parses one (the app may have parsed it already).
  const json = express.json({ limit: '16kb' });

  // login.njk is the page (layout, heading, errors); it includes login-firebase.njk in this mode.
  router.get('/login', (_req, res) => {
    res.render('login.njk', {
      mode: 'firebase',
      firebaseConfig: settings.web,
      emulatorUrl: settings.emulatorHost ? `http://${settings.emulatorHost}` : '',
      googleSignIn: settings.googleSignIn,
    });
  });

  router.post('/sessionLogin', json, async (req: Request, res: Response) => {
    const idToken = (req.body as { idToken?: unknown } | undefined)?.idToken;
    if (typeof idToken !== 'string' || idToken.length === 0 || idToken.length > MAX_ID_TOKEN_CHARS) {
      res.status(400).json({ status: 'error', error: 'idToken required' });
      return;
    }
    const result = await fb.exchange(idToken);
    if (!result.ok) {
      res.status(401).json({ status: 'error', error: result.reason });
      return;
    }
    const profile = await ensureProfile(store, result.token);
    if (!profile.ok) {
      res.status(400).json({ status: 'error', error: profile.reason });
      return;
    }
    res.cookie(FIREBASE_SESSION_COOKIE, result.sessionCookie, { ...cookieOptions, maxAge: SESSION_COOKIE_MAX_AGE_MS });
    res.set('Cache-Control', 'no-store');
    res.json({ status: 'success' });
  });

  const logout = async (req: Request, res: Response): Promise<void> => {
    const cookie = readCookie(req.headers.cookie, FIREBASE_SESSION_COOKIE);
    // No revocation check: a cookie already revoked still names whom to sign out.
    const claims = cookie ? await fb.verify(cookie, false) : null;
    if (claims) {
      try {
        await fb.revoke(claims.uid);
      } catch (err) {
        // The cookie is cleared anyway; the other devices stay signed in until it expires.
        log.error({ err, uid: claims.uid }, 'firebase: revoking refresh tokens failed');
      }
    }
    res.clearCookie(FIREBASE_SESSION_COOKIE, cookieOptions);
    noteSignedOut(res);
    res.redirect(303, '/login');
  };
  router.post('/logout', logout);
  router.post('/sessionLogout', logout);

  return { router, authenticate };
}
