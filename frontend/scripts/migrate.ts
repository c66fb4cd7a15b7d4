import { migrateWithRetry } from "../lib/migrate";

migrateWithRetry()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
