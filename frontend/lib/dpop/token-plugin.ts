import type { BetterAuthPlugin } from "better-auth";
import { createAuthEndpoint, sessionMiddleware } from "better-auth/api";
import { signJWT } from "better-auth/plugins";

import { DPOP_TOKEN_PATH } from "./token-path";
import type { ProofNonces } from "./nonces";
import { InvalidProofError, ProofReplayCache, UseNonceError, verifyTokenRequestProof } from "./verify-proof";

type JwtOptions = NonNullable<Parameters<typeof signJWT>[1]["options"]>;


export interface DpopTokenOptions {
  /** The options the `jwt()` plugin was given: same keys, lifetime, `iss` and `aud`. */
  jwt: JwtOptions;
  proofMaxAgeSeconds?: number;
  leewaySeconds?: number;
  /** Server nonces (RFC 9449 section 8): proofs must carry one from `DPoP-Nonce`. */
  nonces?: ProofNonces;
}

/**
 * `POST /api/auth/dpop/token`: for a signed-in session and a valid DPoP proof of the caller's
 * key, an access token bound to that key (`cnf.jkt`, RFC 9449 section 6.1), signed by the
 * JWT plugin exactly like `/api/auth/token`'s.
 */
export function dpopToken(options: DpopTokenOptions): BetterAuthPlugin {
  const replay = new ProofReplayCache();
  return {
    id: "dpop-token",
    endpoints: {
      getDpopToken: createAuthEndpoint(
        DPOP_TOKEN_PATH,
        { method: "POST", requireHeaders: true, use: [sessionMiddleware] },
        async (ctx) => {
          let jkt: string;
          try {
            jkt = await verifyTokenRequestProof(ctx.headers.get("dpop"), {
              method: "POST",
              url: `${ctx.context.baseURL}${DPOP_TOKEN_PATH}`,
              maxAgeSeconds: options.proofMaxAgeSeconds ?? 60,
              leewaySeconds: options.leewaySeconds ?? 10,
              replay,
              nonces: options.nonces,
            });
          } catch (error) {
            if (error instanceof UseNonceError && options.nonces) {
              const body = { code: "USE_DPOP_NONCE", message: error.message };
              throw ctx.error("BAD_REQUEST", body, { "DPoP-Nonce": options.nonces.issue() });
            }
            if (!(error instanceof InvalidProofError)) throw error;
            throw ctx.error("BAD_REQUEST", { code: "INVALID_DPOP_PROOF", message: error.message });
          }
          const token = await signJWT(ctx, {
            options: options.jwt,
            payload: {
              iat: Math.floor(Date.now() / 1000),
              sub: ctx.context.session.user.id,
              cnf: { jkt },
            },
          });
          ctx.setHeader("Cache-Control", "no-store");
          return ctx.json({ token, token_type: "DPoP" });
        },
      ),
    },
  };
}
