export interface CspOptions {
  /** Per-request nonce; Next puts it on its own inline and chunk scripts. */
  nonce: string;
  /** Extra origins `fetch` may reach besides the app itself (the task API). */
  connectOrigins: readonly string[];
  /** `next dev` needs eval (React refresh) and a websocket for HMR. */
  development: boolean;
}

/**
 * The page CSP. Scripts run only with this request's nonce ('strict-dynamic' lets the
 * trusted chunks load the rest); styles allow inline because the toast library injects
 * its stylesheet at run time and React renders style attributes.
 */
export function buildCsp({ nonce, connectOrigins, development }: CspOptions): string {
  const scriptSrc = ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'"];
  if (development) scriptSrc.push("'unsafe-eval'");
  const connectSrc = ["'self'", ...new Set(connectOrigins)];
  if (development) connectSrc.push("ws:", "wss:");

  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": scriptSrc,
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": connectSrc,
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "manifest-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(" ")}`)
    .join("; ");
}

/** A CSP nonce: 128 random bits, base64. */
export function createNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
