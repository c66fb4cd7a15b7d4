import { AuthConfigError, getAuth, getAuthSettings, migrateAuthDatabase } from "./auth";
import { prepareSigningKeys } from "./signing-keys";

export interface MigrateOptions {
  attempts?: number;
  delayMs?: number;
  log?: (message: string) => void;
}

/**
 * Runs the auth migrations, retrying while the database is not reachable yet (a
 * server may start before its PostgreSQL does). Configuration errors fail at once.
 */
export async function migrateWithRetry({ attempts = 15, delayMs = 1_000, log = console.log }: MigrateOptions = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await migrateAuthDatabase();
      const changed = [...result.created, ...result.altered];
      log(changed.length > 0 ? `auth database migrated: ${changed.join(", ")}` : "auth database up to date");
      return result;
    } catch (error) {
      if (error instanceof AuthConfigError || attempt >= attempts) throw error;
      log(`auth database not ready (attempt ${attempt}/${attempts}): ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** Startup hook: one clear line and a non-zero exit beat a server that fails every sign-in. */
export async function migrateOnStart(): Promise<void> {
  try {
    await migrateWithRetry();
    for (const warning of getAuthSettings().warnings) console.warn(`auth configuration: ${warning}`);
    await prepareSigningKeys(getAuth(), getAuthSettings());
  } catch (error) {
    console.error(`auth startup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
