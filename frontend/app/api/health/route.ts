import { checkAuthDatabase } from "@/lib/auth";

export const dynamic = "force-dynamic";

const NO_STORE = { "Cache-Control": "no-store" };

export async function GET(): Promise<Response> {
  try {
    await checkAuthDatabase();
    return Response.json({ status: "ok" }, { headers: NO_STORE });
  } catch {
    return Response.json({ status: "unavailable", detail: "auth database does not answer" }, { status: 503, headers: NO_STORE });
  }
}
