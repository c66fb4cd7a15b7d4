"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { toast } from "sonner";

import { useServices } from "@/components/providers";
import { Button } from "@/components/ui";
import { clearDraft } from "@/lib/draft";

export function AppHeader({ email, name }: { email: string; name: string }) {
  const { authClient, resetSession } = useServices();
  const router = useRouter();
  const [pending, setPending] = useState(false);

  const signOut = async () => {
    setPending(true);
    try {
      const { error } = await authClient.signOut();
      if (error) {
        toast.error("Could not sign out. Please try again.", { testId: "toast-error" });
        return;
      }
    } catch {
      toast.error("Could not reach the server to sign out.", { testId: "toast-error" });
      return;
    } finally {
      setPending(false);
    }
    // A deliberate sign-out leaves nothing of this user behind in the tab.
    resetSession();
    clearDraft();
    toast.success("Signed out", { testId: "toast-signed-out" });
    router.replace("/login");
  };

  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-3xl items-center justify-between gap-4 px-4 py-3">
        <p className="text-lg font-semibold text-slate-900">Tasks</p>
        <div className="flex items-center gap-3">
          <span className="hidden text-sm text-slate-600 sm:inline" data-testid="user-email" title={name}>
            {email}
          </span>
          <Button variant="secondary" onClick={signOut} disabled={pending} data-testid="sign-out">
            {pending ? "Signing out…" : "Sign out"}
          </Button>
        </div>
      </div>
    </header>
  );
}
