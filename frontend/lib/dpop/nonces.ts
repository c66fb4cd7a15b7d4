import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Server nonces for DPoP proofs (RFC 9449 section 8): HMAC-signed issue times, checked
 * without storing anything. A proof carrying a valid one is fresh by this server's clock,
 * whatever the browser's clock says.
 */
export class ProofNonces {
  readonly #secret: Buffer;
  readonly lifetimeSeconds: number;
  readonly #now: () => number;

  constructor(secret: string | undefined, lifetimeSeconds = 300, now: () => number = Date.now) {
    // Derived, so the nonce key never equals the secret that encrypts the signing keys.
    this.#secret = secret ? createHmac("sha256", secret).update("dpop-nonce").digest() : randomBytes(32);
    this.lifetimeSeconds = lifetimeSeconds;
    this.#now = now;
  }

  #mac(issued: Buffer): Buffer {
    return createHmac("sha256", this.#secret).update(issued).digest().subarray(0, 16);
  }

  issue(): string {
    const issued = Buffer.alloc(8);
    issued.writeBigUInt64BE(BigInt(Math.floor(this.#now() / 1000)));
    return Buffer.concat([issued, this.#mac(issued)]).toString("base64url");
  }

  /** When a still-valid nonce was issued (seconds), or null. */
  issuedAt(nonce: unknown): number | null {
    if (typeof nonce !== "string" || !/^[A-Za-z0-9_-]{32}$/.test(nonce)) return null;
    const raw = Buffer.from(nonce, "base64url");
    const issued = raw.subarray(0, 8);
    if (!timingSafeEqual(raw.subarray(8), this.#mac(issued))) return null;
    const at = Number(issued.readBigUInt64BE());
    const now = this.#now() / 1000;
    return now - this.lifetimeSeconds <= at && at <= now + 1 ? at : null;
  }
}
