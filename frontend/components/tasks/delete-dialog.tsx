"use client";

import { useEffect, useRef } from "react";

import { Button } from "@/components/ui";
import type { Task } from "@/lib/api/tasks";

interface DeleteDialogProps {
  task: Task | null;
  onConfirm: (task: Task) => void;
  onClose: () => void;
}

/** Modal confirmation (native <dialog>: focus trap, Escape and backdrop for free). */
export function DeleteDialog({ task, onConfirm, onClose }: DeleteDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (task && !dialog.open) dialog.showModal();
    if (!task && dialog.open) dialog.close();
  }, [task]);

  return (
    <dialog
      ref={ref}
      onClose={onClose}
      aria-labelledby="delete-dialog-title"
      aria-describedby="delete-dialog-text"
      data-testid="delete-dialog"
      className="m-auto w-full max-w-sm rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40"
    >
      {task ? (
        <div className="space-y-4 p-6">
          <h2 id="delete-dialog-title" className="text-base font-semibold text-slate-900">
            Delete this task?
          </h2>
          <p id="delete-dialog-text" className="text-sm break-words text-slate-600">
            “{task.title}” will be removed for good.
          </p>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={onClose} autoFocus data-testid="delete-cancel">
              Cancel
            </Button>
            <Button variant="danger" onClick={() => onConfirm(task)} data-testid="delete-confirm">
              Delete
            </Button>
          </div>
        </div>
      ) : null}
    </dialog>
  );
}
