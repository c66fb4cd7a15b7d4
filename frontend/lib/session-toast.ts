import { toast } from "sonner";

/** One toast for an ended session, whether the tasks page or the login page shows it. */
export function toastSessionExpired(): void {
  toast.error("Your session has ended. Please sign in again.", {
    id: "session-expired",
    testId: "toast-session-expired",
  });
}
