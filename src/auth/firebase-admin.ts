/**
 * The one firebase-admin app and the Auth calls the sign-in needs. Credentials are Application
 * Default Credentials (the App Engine / Cloud Run service account, or `gcloud auth
 * application-default login` on a laptop), never a key file in the repository. With the Auth
 * emulator, firebase-admin reads FIREBASE_AUTH_EMULATOR_HOST and needs no credentials at all.
 */
import { getApps, initializeApp, type App } from 'firebase-admin/app';
import { getAuth, type Auth, type DecodedIdToken } from 'firebase-admin/auth';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

export type FirebaseSettings = NonNullable<Config['firebase']>;

/** Session cookies live as long as Firebase allows (its maximum is 14 days). */
export const SESSION_COOKIE_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
/** An ID token is exchanged only right after a sign-in, so a stolen old token is worth little. */
export const RECENT_SIGN_IN_S = 5 * 60;

const APP_NAME = 'chat-auth';

/** True when the sign-in (`auth_time`, in seconds) happened within the last 5 minutes. */
export function isRecentSignIn(authTimeS: number, nowMs: number = Date.now()): boolean {
  return Number.isFinite(authTimeS) && nowMs / 1000 - authTimeS <= RECENT_SIGN_IN_S;
}

function adminApp(settings: FirebaseSettings, production: boolean, logger: Logger): App {
  // firebase-admin only looks at the process environment; the parsed configuration decides.
  if (settings.emulatorHost !== null) process.env.FIREBASE_AUTH_EMULATOR_HOST = settings.emulatorHost;
  else delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (settings.emulatorHost !== null && production) {
    // The emulator's tokens are unsigned and firebase-admin accepts them: anyone could sign in.
    logger.warn({ emulator: settings.emulatorHost }, 'firebase auth: the Auth emulator is configured in production');
  }
  const existing = getApps().find((a) => a.name === APP_NAME);
  if (existing) {
    if (existing.options.projectId !== settings.projectId) {
      throw new Error(`firebase-admin already initialised for project ${existing.options.projectId ?? '?'}`);
    }
    return existing;
  }
  logger.info(
    { projectId: settings.projectId, emulator: settings.emulatorHost },
    settings.emulatorHost
      ? 'firebase auth: using the Auth emulator'
      : 'firebase auth: using Application Default Credentials',
  );
  // No credential given: firebase-admin falls back to Application Default Credentials lazily.
  return initializeApp({ projectId: settings.projectId }, APP_NAME);
}

export type ExchangeResult = { ok: true; sessionCookie: string; token: DecodedIdToken } | { ok: false; reason: string };

export interface FirebaseSessions {
  /** Verifies a fresh ID token and trades it for a session cookie. */
  exchange(idToken: string): Promise<ExchangeResult>;
  /** The session cookie's claims, or null when it is forged, expired or revoked. */
  verify(sessionCookie: string, checkRevoked: boolean): Promise<DecodedIdToken | null>;
  /** Signs the user out everywhere: every session cookie issued before now stops verifying. */
  revoke(uid: string): Promise<void>;
}

const isAuthError = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('auth/');
};

export function createFirebaseSessions(
  settings: FirebaseSettings,
  production: boolean,
  logger: Logger,
): FirebaseSessions {
  const auth: Auth = getAuth(adminApp(settings, production, logger));

  return {
    async exchange(idToken) {
      let token: DecodedIdToken;
      try {
        token = await auth.verifyIdToken(idToken);
        if (!isRecentSignIn(token.auth_time)) {
          return { ok: false, reason: 'recent sign-in required' };
        }
        // Then the revocation check (a backend round trip): a token minted before a sign-out
        // is not exchanged either.
        token = await auth.verifyIdToken(idToken, true);
      } catch (err) {
        if (!isAuthError(err)) logger.error({ err }, 'firebase: ID token verification failed');
        return { ok: false, reason: 'invalid ID token' };
      }
      try {
        const sessionCookie = await auth.createSessionCookie(idToken, { expiresIn: SESSION_COOKIE_MAX_AGE_MS });
        return { ok: true, sessionCookie, token };
      } catch (err) {
        if (!isAuthError(err)) logger.error({ err }, 'firebase: createSessionCookie failed');
        return { ok: false, reason: 'could not create a session' };
      }
    },

    async verify(sessionCookie, checkRevoked) {
      try {
        return await auth.verifySessionCookie(sessionCookie, checkRevoked);
      } catch (err) {
        // A bad cookie is an everyday event; an unreachable Auth backend is not.
        if (isAuthError(err))
          logger.debug({ code: (err as { code: string }).code }, 'firebase: session cookie refused');
        else logger.error({ err }, 'firebase: session cookie verification failed');
        return null;
      }
    },

    async revoke(uid) {
      await auth.revokeRefreshTokens(uid);
    },
  };
}
