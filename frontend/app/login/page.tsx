import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { AuthShell } from "@/components/auth/auth-shell";
import { LoginForm } from "@/components/auth/login-form";
import { safeNextPath } from "@/lib/safe-next";
import { firstParam, type SearchParams } from "@/lib/search-params";
import { currentSession } from "@/lib/session";

export const metadata: Metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const params = await searchParams;
  const next = safeNextPath(params.next);
  const expired = firstParam(params.reason) === "expired";
  // After an expired session the form is shown even if a cookie is left over, or the
  // API's refusal and this redirect would send the user round in a loop.
  if (!expired && (await currentSession())) redirect(next);
  return (
    <AuthShell title="Sign in" subtitle="Welcome back. Sign in to see your tasks.">
      <LoginForm next={next} expired={expired} />
    </AuthShell>
  );
}
