"use client";

import { cx } from "@/components/ui";
import { TASK_FILTERS, type TaskFilter } from "@/lib/api/query";

const LABELS: Record<TaskFilter, string> = { all: "All", active: "Active", completed: "Completed" };

export function FilterBar({ value, onChange }: { value: TaskFilter; onChange: (filter: TaskFilter) => void }) {
  return (
    <div role="group" aria-label="Show tasks" className="inline-flex rounded-md border border-slate-300 bg-white p-0.5">
      {TASK_FILTERS.map((filter) => (
        <button
          key={filter}
          type="button"
          aria-pressed={value === filter}
          onClick={() => onChange(filter)}
          data-testid={`filter-${filter}`}
          className={cx(
            "rounded px-3 py-1.5 text-sm font-medium transition-colors",
            value === filter ? "bg-indigo-600 text-white" : "text-slate-600 hover:bg-slate-100",
          )}
        >
          {LABELS[filter]}
        </button>
      ))}
    </div>
  );
}
