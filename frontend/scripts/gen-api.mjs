// Regenerates the task API types from the backend's OpenAPI document:
//   1. lib/api/openapi.json  ← `python -m todo_api.openapi` (or the file in OPENAPI_SPEC)
//   2. lib/api/schema.d.ts   ← openapi-typescript
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const specFile = path.join(root, "lib", "api", "openapi.json");
const typesFile = path.join(root, "lib", "api", "schema.d.ts");

function readSpec() {
  if (process.env.OPENAPI_SPEC) return readFileSync(process.env.OPENAPI_SPEC, "utf8");
  const python = process.env.PYTHON || path.resolve(root, "..", ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run \`make install\` or set PYTHON / OPENAPI_SPEC`);
  }
  return execFileSync(python, ["-m", "todo_api.openapi"], { encoding: "utf8", cwd: path.resolve(root, "..") });
}

const spec = JSON.parse(readSpec());
writeFileSync(specFile, `${JSON.stringify(spec, null, 2)}\n`);
execFileSync(
  path.join(root, "node_modules", ".bin", "openapi-typescript"),
  [specFile, "--output", typesFile, "--default-non-nullable", "false"],
  { stdio: "inherit", cwd: root },
);
