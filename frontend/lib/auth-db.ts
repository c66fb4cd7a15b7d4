import path from "node:path";

import Database from "better-sqlite3";
import { Pool } from "pg";

export type AuthDatabaseTarget =
  | { kind: "postgres"; connectionString: string }
  | { kind: "sqlite"; filename: string };

export const DEFAULT_SQLITE_FILE = "./auth.db";

/**
 * DATABASE_URL → where Better Auth keeps its tables: `postgres://` / `postgresql://`
 * (a `+driver` suffix such as the backend's `postgresql+psycopg://` is dropped) or a
 * SQLite file given as a path, `file:<path>` or `sqlite:///<path>`.
 */
export function parseDatabaseUrl(raw: string | undefined, cwd: string = process.cwd()): AuthDatabaseTarget {
  const value = raw?.trim() || DEFAULT_SQLITE_FILE;
  const postgres = /^postgres(?:ql)?(?:\+[a-z0-9]+)?:\/\//i.exec(value);
  if (postgres) {
    return { kind: "postgres", connectionString: `postgresql://${value.slice(postgres[0].length)}` };
  }
  let file = value;
  if (/^sqlite:\/\/\//i.test(file)) file = file.slice("sqlite:///".length);
  else if (/^file:/i.test(file)) file = file.slice("file:".length).replace(/^\/\/(?=\/)/, "");
  if (file === "" || file === ":memory:") {
    throw new Error("DATABASE_URL must name a SQLite file or a PostgreSQL database; in-memory SQLite loses users on restart");
  }
  // Run-time data, not a build input: without the hint the file tracer copies the project.
  return { kind: "sqlite", filename: path.resolve(/* turbopackIgnore: true */ cwd, file) };
}

export type AuthDatabase =
  | { kind: "postgres"; pool: Pool }
  | { kind: "sqlite"; db: Database.Database };

export function openAuthDatabase(target: AuthDatabaseTarget): AuthDatabase {
  if (target.kind === "postgres") {
    const pool = new Pool({ connectionString: target.connectionString, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle client losing its connection must not crash the server; the next query reconnects.
    pool.on("error", () => undefined);
    return { kind: "postgres", pool };
  }
  const db = new Database(target.filename);
  // WAL + busy timeout: the migrate script and a running server may touch the file together.
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return { kind: "sqlite", db };
}

/** The handle Better Auth's `database` option accepts. */
export function betterAuthDatabase(database: AuthDatabase): Pool | Database.Database {
  return database.kind === "postgres" ? database.pool : database.db;
}

/** Resolves when the database answers a trivial query. */
export async function pingAuthDatabase(database: AuthDatabase): Promise<void> {
  if (database.kind === "postgres") {
    await database.pool.query("SELECT 1");
    return;
  }
  database.db.prepare("SELECT 1").get();
}
