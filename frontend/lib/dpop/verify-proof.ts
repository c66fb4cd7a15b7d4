import { calculateJwkThumbprint, EmbeddedJWK, errors, type JWK, jwtVerify } from "jose";

import type { ProofNonces } from "./nonces";

/** Proof algorithms the token endpoint accepts: asymmetric, small keys (the browser uses ES256). */
export const PROOF_ALGORITHMS = ["ES256", "ES384", "ES512", "EdDSA"];

export class InvalidProofError extends Error {
  override readonly name = "InvalidProofError";
}

/** The proof lacks a valid server nonce: the client should retry with a fresh one. */
export class UseNonceError extends InvalidProofError {}

/**
 * Proof ids seen within the acceptance window, each accepted once. Bounded, oldest dropped
 * first: a token-request proof replayed after that only yields another token bound to the
 * same key, useless without its private half.
 */
export class ProofReplayCache {
  readonly #max: number;
  readonly #seen = new Map<string, number>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** False when `jti` was used before; `until` is when it can no longer be accepted anyway. */
  use(jti: string, until: number, now: number): boolean {
    for (const [seen, expiry] of this.#seen) {
      if (expiry >= now) break; // insertion order is close to expiry order
      this.#seen.delete(seen);
    }
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, until);
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value as string);
    return true;
  }
}

export interface ProofPolicy {
  method: string;
  /** The endpoint's own URL as the browser addresses it. */
  url: string;
  maxAgeSeconds: number;
  leewaySeconds: number;
  replay: ProofReplayCache;
  /** With nonces, freshness comes from the nonce instead of the proof's `iat`. */
  nonces?: ProofNonces;
  now?: () => number;
}

function sameTarget(a: string, b: string): boolean {
  try {
    const left = new URL(a);
    const right = new URL(b);
    return left.origin === right.origin && decodeURI(left.pathname) === decodeURI(right.pathname);
  } catch {
    return false;
  }
}

/**
 * Checks a token request's DPoP proof (RFC 9449 section 4.3; jose verifies the signature
 * with the proof's embedded public key) and returns that key's RFC 7638 thumbprint.
 */
export async function verifyTokenRequestProof(proof: string | null, policy: ProofPolicy): Promise<string> {
  if (!proof || proof.includes(",")) throw new InvalidProofError("exactly one DPoP proof is required");
  const nowSeconds = Math.floor((policy.now ?? Date.now)() / 1000);
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: PROOF_ALGORITHMS,
      requiredClaims: ["iat", "jti", "htm", "htu"],
      ...(policy.nonces ? {} : { maxTokenAge: policy.maxAgeSeconds }),
      clockTolerance: policy.leewaySeconds,
      currentDate: new Date(nowSeconds * 1000),
    });
  } catch (error) {
    const reason = error instanceof errors.JOSEError ? error.code : "unreadable";
    throw new InvalidProofError(`the DPoP proof is not valid (${reason})`);
  }
  const { payload, protectedHeader } = verified;
  if (payload.htm !== policy.method) throw new InvalidProofError("htm does not match the request");
  if (typeof payload.htu !== "string" || !sameTarget(payload.htu, policy.url)) {
    throw new InvalidProofError("htu does not match the request");
  }
  if (typeof payload.jti !== "string" || !payload.jti || payload.jti.length > 256) {
    throw new InvalidProofError("jti is missing");
  }
  let until: number;
  if (policy.nonces) {
    const issued = policy.nonces.issuedAt(payload.nonce);
    if (issued === null) throw new UseNonceError("the DPoP proof needs the server's nonce");
    until = issued + policy.nonces.lifetimeSeconds + policy.leewaySeconds;
  } else {
    const iat = payload.iat as number;
    if (iat > nowSeconds + policy.leewaySeconds) throw new InvalidProofError("iat is in the future");
    until = iat + policy.maxAgeSeconds + policy.leewaySeconds;
  }
  const thumbprint = await calculateJwkThumbprint(protectedHeader.jwk as JWK, "sha256");
  if (!policy.replay.use(`${thumbprint}.${payload.jti}`, until, nowSeconds)) {
    throw new InvalidProofError("the DPoP proof was used before");
  }
  return thumbprint;
}
