/**
 * What the Firebase sign-in page needs beyond 'self' in the Content-Security-Policy; merged by
 * the HTTP app into helmet's directives. Nothing here loosens script-src to inline or eval.
 */
import type { Config } from '../config.js';

export interface FirebaseCspSources {
  connectSrc: string[];
  frameSrc: string[];
  scriptSrc: string[];
}

/** The Auth REST endpoints the JS SDK calls (sign-in, sign-up, token refresh). */
const GOOGLE_AUTH_APIS = ['https://identitytoolkit.googleapis.com', 'https://securetoken.googleapis.com'];

export function firebaseCspSources(config: Pick<Config, 'auth' | 'firebase'>): FirebaseCspSources {
  const fb = config.firebase;
  if (config.auth !== 'firebase' || fb === null) return { connectSrc: [], frameSrc: [], scriptSrc: [] };
  const emulator = fb.emulatorHost ? [`http://${fb.emulatorHost}`] : [];
  const connectSrc = [...GOOGLE_AUTH_APIS, ...emulator];
  if (!fb.googleSignIn) return { connectSrc, frameSrc: [], scriptSrc: [] };
  // Google sign-in: the SDK loads gapi from apis.google.com and talks to a hidden iframe served
  // from authDomain (or from the emulator, which serves its own handler page).
  return {
    connectSrc,
    frameSrc: [`https://${fb.web.authDomain}`, ...emulator],
    scriptSrc: ['https://apis.google.com'],
  };
}
