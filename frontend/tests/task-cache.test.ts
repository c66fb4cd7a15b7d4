import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";

import { taskKeys } from "@/lib/api/query";
import {
  changeTask,
  insertTask,
  removeTask,
  restoreLists,
  type TaskListData,
  updateLists,
} from "@/lib/api/task-cache";
import type { Task } from "@/lib/api/tasks";

function task(id: string, completed = false): Task {
  return {
    id,
    user_id: "u1",
    title: `Task ${id}`,
    description: "",
    completed,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
}

function list(items: Task[]): TaskListData {
  return { pages: [{ items, total: items.length, limit: 50, offset: 0 }], pageParams: [0] };
}

function seeded() {
  const client = new QueryClient();
  client.setQueryData(taskKeys.list("u1", "all"), list([task("a"), task("b", true)]));
  client.setQueryData(taskKeys.list("u1", "active"), list([task("a")]));
  client.setQueryData(taskKeys.list("u1", "completed"), list([task("b", true)]));
  client.setQueryData(taskKeys.list("u2", "all"), list([task("z")]));
  return client;
}

const ids = (client: QueryClient, key: readonly unknown[]) =>
  client.getQueryData<TaskListData>(key)!.pages.flatMap((page) => page.items.map((t) => t.id));
const total = (client: QueryClient, key: readonly unknown[]) => client.getQueryData<TaskListData>(key)!.pages[0]!.total;

describe("optimistic list updates", () => {
  it("inserts a new task at the top of the lists it belongs to", () => {
    const client = seeded();
    updateLists(client, "u1", insertTask(task("new")));
    expect(ids(client, taskKeys.list("u1", "all"))).toEqual(["new", "a", "b"]);
    expect(ids(client, taskKeys.list("u1", "active"))).toEqual(["new", "a"]);
    expect(ids(client, taskKeys.list("u1", "completed"))).toEqual(["b"]);
    expect(total(client, taskKeys.list("u1", "all"))).toBe(3);
    expect(ids(client, taskKeys.list("u2", "all"))).toEqual(["z"]);
  });

  it("toggling moves a task out of lists whose filter no longer matches", () => {
    const client = seeded();
    updateLists(client, "u1", changeTask("a", (t) => ({ ...t, completed: true })));
    expect(ids(client, taskKeys.list("u1", "all"))).toEqual(["a", "b"]);
    expect(ids(client, taskKeys.list("u1", "active"))).toEqual([]);
    expect(total(client, taskKeys.list("u1", "active"))).toBe(0);
  });

  it("removes a deleted task everywhere and restores the snapshot on failure", () => {
    const client = seeded();
    const before = client.getQueryData(taskKeys.list("u1", "all"));
    const snapshot = updateLists(client, "u1", removeTask("a"));
    expect(ids(client, taskKeys.list("u1", "all"))).toEqual(["b"]);
    expect(ids(client, taskKeys.list("u1", "active"))).toEqual([]);

    restoreLists(client, snapshot);
    expect(client.getQueryData(taskKeys.list("u1", "all"))).toEqual(before);
    expect(ids(client, taskKeys.list("u1", "active"))).toEqual(["a"]);
  });
});
