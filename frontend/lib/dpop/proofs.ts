import { generateProof } from "dpop";

import type { DpopKeyStore } from "./keys";

/** `htu`: the request URL without query and fragment (RFC 9449 section 4.2). */
export function htuOf(url: string): string {
  const parsed = new URL(url);
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString();
}

/** Makes a fresh proof per request with the browser's key (the `dpop` package signs). */
export class DpopProofs {
  readonly #keys: DpopKeyStore;

  constructor(keys: DpopKeyStore) {
    this.#keys = keys;
  }

  /** A proof for `method url`; with `accessToken`, bound to it through `ath`. */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    return generateProof(await this.#keys.get(), htuOf(url), method, undefined, accessToken);
  }

  clear(): Promise<void> {
    return this.#keys.clear();
  }
}
