import Link from "next/link";
import type { ReactNode } from "react";

import { Button } from "@/components/ui";
import type { TaskFilter } from "@/lib/api/query";

export function TasksSkeleton() {
  return (
    <div data-testid="tasks-loading" aria-busy="true" aria-live="polite" className="space-y-3">
      <span className="sr-only">Loading tasks…</span>
      {[0, 1, 2].map((row) => (
        <div key={row} className="flex animate-pulse items-center gap-3 rounded-lg border border-slate-200 bg-white p-4">
          <div className="size-5 rounded bg-slate-200" />
          <div className="flex-1 space-y-2">
            <div className="h-3 w-1/2 rounded bg-slate-200" />
            <div className="h-3 w-1/3 rounded bg-slate-100" />
          </div>
        </div>
      ))}
    </div>
  );
}

const EMPTY_TEXT: Record<TaskFilter, string> = {
  all: "No tasks yet. Add your first one above.",
  active: "Nothing left to do. Nice work!",
  completed: "No completed tasks yet.",
};

export function EmptyState({ filter }: { filter: TaskFilter }) {
  return (
    <div
      data-testid="tasks-empty"
      className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-10 text-center text-sm text-slate-600"
    >
      {EMPTY_TEXT[filter]}
    </div>
  );
}

function Panel({ testId, title, children, tone }: { testId: string; title: string; children: ReactNode; tone: "rose" | "amber" }) {
  const colors = tone === "rose" ? "border-rose-200 bg-rose-50 text-rose-900" : "border-amber-200 bg-amber-50 text-amber-900";
  return (
    <section role="alert" data-testid={testId} className={`space-y-3 rounded-lg border p-6 ${colors}`}>
      <h2 className="text-base font-semibold">{title}</h2>
      {children}
    </section>
  );
}

export function PermissionDenied() {
  return (
    <Panel testId="permission-denied" title="You don't have permission to view these tasks" tone="rose">
      <p className="text-sm">This list belongs to another account. You can only see and change your own tasks.</p>
      <Link href="/tasks" className="inline-block text-sm font-medium text-indigo-700 underline" data-testid="back-to-my-tasks">
        Back to my tasks
      </Link>
    </Panel>
  );
}

export function NotFoundState() {
  return (
    <Panel testId="not-found" title="Not found" tone="amber">
      <p className="text-sm">What you are looking for does not exist (any more).</p>
      <Link href="/tasks" className="inline-block text-sm font-medium text-indigo-700 underline" data-testid="back-to-my-tasks">
        Back to my tasks
      </Link>
    </Panel>
  );
}

export function LoadError({ message, onRetry, retrying }: { message: string; onRetry: () => void; retrying: boolean }) {
  return (
    <Panel testId="tasks-error" title="Could not load your tasks" tone="amber">
      <p className="text-sm">{message}</p>
      <Button variant="secondary" onClick={onRetry} disabled={retrying} data-testid="tasks-retry">
        {retrying ? "Retrying…" : "Try again"}
      </Button>
    </Panel>
  );
}

export function SessionEnding() {
  return (
    <div role="status" data-testid="session-ending" className="rounded-lg bg-white p-6 text-sm text-slate-600">
      Your session has ended. Taking you to the sign-in page…
    </div>
  );
}
