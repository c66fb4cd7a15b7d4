import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { TasksView } from "@/components/tasks/tasks-view";
import { parseFilter } from "@/lib/api/query";
import { loginUrlFor } from "@/lib/safe-next";
import { firstParam, type SearchParams, toQueryString } from "@/lib/search-params";
import { currentSession } from "@/lib/session";

export const metadata: Metadata = { title: "My tasks" };

export default async function TasksPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const params = await searchParams;
  const session = await currentSession();
  if (!session) redirect(loginUrlFor(`/tasks${toQueryString(params)}`));
  const { id, email, name } = session.user;
  return (
    <TasksView
      user={{ id, email, name }}
      ownerId={firstParam(params.user) || id}
      initialFilter={parseFilter(params.filter)}
    />
  );
}
