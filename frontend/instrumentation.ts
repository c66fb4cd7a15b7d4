/** Server start: bring Better Auth's tables up to date before the first request. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { migrateOnStart } = await import("./lib/migrate");
  await migrateOnStart();
}
