import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { AuthShell } from "@/components/auth/auth-shell";
import { SignupForm } from "@/components/auth/signup-form";
import { safeNextPath } from "@/lib/safe-next";
import type { SearchParams } from "@/lib/search-params";
import { currentSession } from "@/lib/session";

export const metadata: Metadata = { title: "Create account" };

export default async function SignupPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const next = safeNextPath((await searchParams).next);
  if (await currentSession()) redirect(next);
  return (
    <AuthShell title="Create your account" subtitle="It takes a few seconds.">
      <SignupForm next={next} />
    </AuthShell>
  );
}
