const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Seconds in a duration written as a number of seconds (`900`) or with one unit
 * (`30s`, `15m`, `1h`, `30d`, `2w`), the short forms `JWT_EXPIRATION` already uses.
 * Undefined when the text is neither.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(text.trim());
  const unit = UNIT_SECONDS[(match?.[2] || "s").toLowerCase()];
  if (!match || unit === undefined) return undefined;
  const seconds = Number(match[1]) * unit;
  return Number.isFinite(seconds) ? seconds : undefined;
}
