// `npm start`: runs the standalone server built by `npm run build` on PORT (default
// 3000), bound to HOST (default 0.0.0.0).
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
const server = path.join(root, ".next", "standalone", "server.js");
if (!existsSync(server)) {
  console.error("start: no production build found; run `npm run build` first");
  process.exit(1);
}

process.env.PORT ||= "3000";
// The standalone server binds to HOSTNAME, which shells and containers often set to the machine name.
process.env.HOSTNAME = process.env.HOST || "0.0.0.0";
process.env.NEXT_TELEMETRY_DISABLED ||= "1";

// server.js changes into its own directory: a relative SQLite path would land in
// .next/standalone, so it is made absolute against the directory `npm start` ran in.
const databaseUrl = process.env.DATABASE_URL?.trim() || "./auth.db";
if (!/^postgres(ql)?(\+[a-z0-9]+)?:\/\//i.test(databaseUrl)) {
  const file = databaseUrl.replace(/^sqlite:\/\/\//i, "").replace(/^file:(\/\/(?=\/))?/i, "");
  process.env.DATABASE_URL = path.resolve(process.cwd(), file);
}

await import(pathToFileURL(server).href);
