import { symmetricDecrypt } from "better-auth/crypto";

import { AuthConfigError, type Auth, type AuthSettings } from "./auth";

/** A row of Better Auth's `jwks` table, as its adapter returns it. */
export interface StoredKey {
  id: string;
  alg?: string | null;
  privateKey: string;
  createdAt: Date;
  expiresAt?: Date | null;
}

/**
 * The key Better Auth will sign the next token with (its `resolveSigningKey`): the newest
 * live key of the configured algorithm (a row without `alg` counts as that algorithm),
 * else the newest live key. Undefined when none is live: the next token gets a new key.
 */
export function signingKeyOf(keys: StoredKey[], alg: string, now: Date): StoredKey | undefined {
  const live = keys
    .filter((key) => !key.expiresAt || key.expiresAt > now)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return live.find((key) => key.alg === alg || key.alg == null) ?? live[0];
}

export function keyDecryptionFailed(kid: string): AuthConfigError {
  return new AuthConfigError(
    `BETTER_AUTH_SECRET cannot decrypt the signing key ${kid} in the jwks table: the secret ` +
      "changed since the key was created, so no token could be signed. Start with the previous " +
      "secret, or delete the rows of the jwks table to create a new key (docs/frontend.md, " +
      '"Signing keys and BETTER_AUTH_SECRET")',
  );
}

/**
 * Start-up check of the stored signing keys, before the first request:
 * - keys created before rotation was configured have no expiry, so they would never
 *   rotate; they get one (created + rotation interval) and rotate from then on;
 * - the key the next token will be signed with must decrypt with the configured secret.
 *   Better Auth only finds out when it signs (every token request fails); here the
 *   server stops with one line instead.
 */
export async function prepareSigningKeys(auth: Auth, settings: AuthSettings, now = new Date()): Promise<void> {
  const context = await auth.$context;
  const keys = await context.adapter.findMany<StoredKey>({ model: "jwks" });
  for (const key of keys) {
    if (key.expiresAt) continue;
    key.expiresAt = new Date(key.createdAt.getTime() + settings.rotationInterval * 1_000);
    await context.adapter.update({
      model: "jwks",
      where: [{ field: "id", value: key.id }],
      update: { expiresAt: key.expiresAt },
    });
  }
  const signing = signingKeyOf(keys, settings.keyAlgorithm, now);
  if (!signing) return;
  try {
    await symmetricDecrypt({ key: context.secretConfig, data: JSON.parse(signing.privateKey) as string });
  } catch {
    throw keyDecryptionFailed(signing.id);
  }
}
