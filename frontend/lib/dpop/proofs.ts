import { generateProof } from "dpop";

import type { DpopKeyStore } from "./keys";

/** `htu`: the request URL without query and fragment (RFC 9449 section 4.2). */
export function htuOf(url: string): string {
  const parsed = new URL(url);
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString();
}

/**
 * Makes a fresh proof per request with the browser's key (the `dpop` package signs), with
 * the latest server nonce of the request's origin when that server asked for one.
 */
export class DpopProofs {
  readonly #keys: DpopKeyStore;
  readonly #nonces = new Map<string, string>();

  constructor(keys: DpopKeyStore) {
    this.#keys = keys;
  }

  /** A proof for `method url`; with `accessToken`, bound to it through `ath`. */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    const nonce = this.#nonces.get(new URL(url).origin);
    return generateProof(await this.#keys.get(), htuOf(url), method, nonce, accessToken);
  }

  /**
   * Keeps the `DPoP-Nonce` a response carries (RFC 9449 section 8); true when the server
   * refused the proof for want of a (new) nonce, so the request is worth sending again.
   */
  useNonce(url: string, response: Response): boolean {
    const nonce = response.headers.get("dpop-nonce");
    if (!nonce) return false;
    const origin = new URL(url).origin;
    const changed = this.#nonces.get(origin) !== nonce;
    this.#nonces.set(origin, nonce);
    return changed && (response.status === 400 || response.status === 401);
  }

  clear(): Promise<void> {
    this.#nonces.clear();
    return this.#keys.clear();
  }
}
