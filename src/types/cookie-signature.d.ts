/** cookie-signature (express-session's own signer; no types of its own): checks a signed value. */
declare module 'cookie-signature' {
  /** The value without its signature, or false when the signature does not match. */
  export function unsign(value: string, secret: string): string | false;
  export function sign(value: string, secret: string): string;
}
