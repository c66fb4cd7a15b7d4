"""Load: N users doing mixed CRUD against the backend; the database must equal the ledger.

Each simulated user has its own token (minted by the stack's issuer) and runs one request
at a time, so its own history is totally ordered and the client can know exactly what the
database must hold. Every acknowledged write (2xx) goes into that user's ledger with the
state the server answered. A write without an answer -- a connection error, a timeout or a
5xx -- is *ambiguous*: it may or may not have been committed, so the ledger accepts both
outcomes for that task (or that created title) until a later read settles it. At the end
the ``task`` rows in PostgreSQL (queried directly with psycopg) are compared with the
ledger: no lost acknowledged write, no row the ledger cannot explain (duplicate or
phantom), no row under the wrong user, no stale state.

Reads check the same invariants through the API while the load runs (read-your-writes).
Used by ``bench/load.py`` (the benchmark's command line) and the fault suite.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from harness.issuer.control import IssuerControl
from harness.processes import group_members
from harness.stack import Stack

# Enough tasks per user to make lists and deletes meaningful, few enough for one page.
MAX_TASKS = 20
PAGE = 200
WEIGHTS: dict[str, int] = {
    "create": 25,
    "list": 15,
    "read": 20,
    "replace": 10,
    "update": 15,
    "toggle": 10,
    "delete": 5,
}
KEEPALIVE_SECONDS = 2.0


@dataclass(frozen=True)
class Fields:
    """A task's state as far as the client can observe and set it."""

    title: str
    description: str
    completed: bool

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Fields:
        return cls(str(row["title"]), str(row["description"]), bool(row["completed"]))


# A task's acceptable states: one entry when certain; None stands for "absent".
Candidates = list[Fields | None]


@dataclass
class LoadUser:
    """One simulated user and its ledger."""

    index: int
    user_id: str
    token: str
    key: str = "k1"
    """Label of the signing key of ``token`` (key-rotation scenarios switch it)."""
    tasks: dict[str, Candidates] = field(default_factory=dict)
    pending_creates: dict[str, Fields] = field(default_factory=dict)
    """Creates without an answer, by their (unique) title: they may exist or not."""
    seq: int = 0
    acknowledged_writes: int = 0
    ambiguous_writes: int = 0

    @property
    def path(self) -> str:
        return f"/api/{self.user_id}/tasks"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def use_token(self, token: str, key: str) -> None:
        self.token, self.key = token, key

    def certain(self) -> list[str]:
        return [tid for tid, states in self.tasks.items() if len(states) == 1 and states[0]]

    def uncertain(self) -> list[str]:
        return [tid for tid, states in self.tasks.items() if len(states) > 1]

    def settle(self, task_id: str, state: Fields | None) -> None:
        if state is None:
            self.tasks.pop(task_id, None)
        else:
            self.tasks[task_id] = [state]


@dataclass(frozen=True)
class Sample:
    user: int
    key: str
    op: str
    started: float
    ended: float
    outcome: str
    """HTTP status as text, or the transport exception's class name."""
    code: str | None = None
    """The error body's ``code`` for 4xx/5xx answers."""
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome.isdigit() and 200 <= int(self.outcome) < 300

    @property
    def latency(self) -> float:
        return self.ended - self.started


def _applied(response: httpx.Response | None, ok: int) -> bool | None:
    """True: applied and answered; False: refused, so not applied (4xx); None: unknown --
    no answer, or a 5xx that may come after the commit (e.g. the connection dropped)."""
    if response is None or response.status_code >= 500:
        return None
    return response.status_code == ok


def _marker(run_id: str, user: LoadUser) -> str:
    user.seq += 1
    return f"{run_id}/u{user.index}/{user.seq}"


def user_of_title(title: str, run_id: str) -> int | None:
    """The user index a title was written by (titles carry ``<run>/u<index>/<seq>``)."""
    if not title.startswith(run_id + "/u"):
        return None
    head = title[len(run_id) + 2 :].split("/", 1)[0]
    return int(head) if head.isdigit() else None


def check_rows(user: LoadUser, rows: Iterable[Mapping[str, Any]], *, adopt: bool) -> list[str]:
    """Compare a complete listing of ``user``'s tasks (API page or database rows) with the
    ledger. With ``adopt``, rows that settle ambiguous writes update the ledger."""
    problems: list[str] = []
    seen: set[str] = set()
    for row in rows:
        task_id, state = str(row["id"]), Fields.of(row)
        seen.add(task_id)
        candidates = user.tasks.get(task_id)
        if candidates is not None:
            if state not in candidates:
                problems.append(f"u{user.index} task {task_id}: {state} not in {candidates}")
            elif adopt:
                user.settle(task_id, state)
        elif user.pending_creates.get(state.title) == state:
            if adopt:  # an unanswered create that did land: now it is known
                del user.pending_creates[state.title]
                user.settle(task_id, state)
        else:
            problems.append(f"u{user.index}: unexplained row {task_id} {state}")
    for task_id, candidates in list(user.tasks.items()):
        if task_id in seen:
            continue
        if None not in candidates:
            problems.append(f"u{user.index}: acknowledged task {task_id} missing")
        elif adopt:
            user.settle(task_id, None)
    return problems


class Load:
    """Runs the simulated users until ``stop`` is set; keeps every sample."""

    def __init__(
        self,
        backend_url: str,
        users: Sequence[LoadUser],
        run_id: str,
        *,
        pace: float = 0.0,
        timeout: float = 10.0,
        seed: int | None = None,
    ) -> None:
        self.backend_url = backend_url
        self.users = list(users)
        self.run_id = run_id
        self.pace = pace
        self.timeout = timeout
        self.samples: list[Sample] = []
        self.mismatches: list[str] = []
        self._random = random.Random(seed)

    async def run(self, stop: asyncio.Event) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them,
        # so a request never races the server's close (RemoteProtocolError).
        limits = httpx.Limits(
            max_connections=len(self.users),
            max_keepalive_connections=len(self.users),
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        async with httpx.AsyncClient(
            base_url=self.backend_url, timeout=self.timeout, limits=limits
        ) as client:
            await asyncio.gather(*(self._user_loop(client, u, stop) for u in self.users))

    async def run_for(self, seconds: float) -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await self.run(stop)

    async def _user_loop(
        self, client: httpx.AsyncClient, user: LoadUser, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            await self._step(client, user)
            if self.pace:
                await asyncio.sleep(self._random.uniform(0, 2 * self.pace))

    def _pick(self, user: LoadUser) -> str:
        if user.uncertain() and self._random.random() < 0.5:
            return "resolve"
        certain = user.certain()
        if not certain:
            return "create"
        weights = dict(WEIGHTS)
        if len(user.tasks) + len(user.pending_creates) >= MAX_TASKS:
            weights["delete"] += weights.pop("create")
        return self._random.choices(list(weights), list(weights.values()))[0]

    async def _request(
        self,
        client: httpx.AsyncClient,
        user: LoadUser,
        op: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response | None:
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            response = await client.request(method, path, json=body, headers=user.headers)
            outcome = str(response.status_code)
        except httpx.TransportError as exc:
            outcome = type(exc).__name__
        code = retry_after = None
        if response is not None and response.status_code >= 400:
            retry_after = response.headers.get("retry-after")
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "unparsable"
        self.samples.append(
            Sample(user.index, user.key, op, started, time.monotonic(), outcome, code, retry_after)
        )
        return response

    def _wrote(
        self,
        user: LoadUser,
        task_id: str,
        response: httpx.Response | None,
        new: Fields | None,
        ok: int = 200,
    ) -> None:
        applied = _applied(response, ok)
        if applied is None:
            user.ambiguous_writes += 1
            states = user.tasks.get(task_id, [])
            if new not in states:
                user.tasks[task_id] = [*states, new]
            return
        if not applied:
            assert response is not None
            if response.status_code == 404:
                self.mismatches.append(f"u{user.index}: acknowledged task {task_id} gave 404")
            return
        user.acknowledged_writes += 1
        if new is None or response is None or response.status_code == 204:
            user.settle(task_id, None)
            return
        answered = Fields.of(response.json())
        if answered != new:
            self.mismatches.append(f"u{user.index} task {task_id}: sent {new}, got {answered}")
        user.settle(task_id, answered)

    async def _step(self, client: httpx.AsyncClient, user: LoadUser) -> None:
        op = self._pick(user)
        rnd = self._random
        if op == "create":
            new = Fields(_marker(self.run_id, user), f"load {rnd.randrange(10**6)}", False)
            body: dict[str, Any] = {"title": new.title, "description": new.description}
            response = await self._request(client, user, op, "POST", user.path, body)
            answered = _applied(response, 201)
            if answered is None:
                user.ambiguous_writes += 1
                user.pending_creates[new.title] = new
            elif answered and response is not None:
                user.acknowledged_writes += 1
                data = response.json()
                if Fields.of(data) != new or data.get("user_id") != user.user_id:
                    self.mismatches.append(f"u{user.index}: created {new}, got {data}")
                user.settle(str(data["id"]), Fields.of(data))
            return
        if op == "list":
            response = await self._request(client, user, op, "GET", f"{user.path}?limit={PAGE}")
            if response is not None and response.status_code == 200:
                page = response.json()
                if page["total"] != len(page["items"]):
                    self.mismatches.append(f"u{user.index}: total {page['total']} != items")
                self.mismatches += check_rows(user, page["items"], adopt=True)
            return
        if op == "resolve":
            task_id = rnd.choice(user.uncertain())
            response = await self._request(client, user, op, "GET", f"{user.path}/{task_id}")
            if response is not None and response.status_code in (200, 404):
                state = Fields.of(response.json()) if response.status_code == 200 else None
                if state not in user.tasks[task_id]:
                    self.mismatches.append(f"u{user.index} task {task_id}: read {state}")
                else:
                    user.settle(task_id, state)
            return
        task_id = rnd.choice(user.certain())
        current = user.tasks[task_id][0]
        assert current is not None
        url = f"{user.path}/{task_id}"
        if op == "read":
            response = await self._request(client, user, op, "GET", url)
            if response is not None and response.status_code in (200, 404):
                seen = Fields.of(response.json()) if response.status_code == 200 else None
                if seen != current:
                    self.mismatches.append(
                        f"u{user.index} task {task_id}: read {seen} != {current}"
                    )
        elif op == "replace":
            new = Fields(
                _marker(self.run_id, user), f"put {rnd.randrange(10**6)}", rnd.random() < 0.5
            )
            body = {
                "title": new.title,
                "description": new.description,
                "completed": new.completed,
            }
            self._wrote(user, task_id, await self._request(client, user, op, "PUT", url, body), new)
        elif op == "update":
            new = Fields(_marker(self.run_id, user), current.description, current.completed)
            body = {"title": new.title}
            self._wrote(
                user, task_id, await self._request(client, user, op, "PATCH", url, body), new
            )
        elif op == "toggle":
            new = Fields(current.title, current.description, not current.completed)
            response = await self._request(client, user, op, "PATCH", f"{url}/complete")
            self._wrote(user, task_id, response, new)
        elif op == "delete":
            response = await self._request(client, user, op, "DELETE", url)
            self._wrote(user, task_id, response, None, ok=204)


def make_users(
    issuer: IssuerControl, count: int, run_id: str, *, ttl: float = 3600
) -> list[LoadUser]:
    users = []
    for index in range(count):
        user_id = f"load-{run_id}-{index:03d}"
        users.append(LoadUser(index, user_id, issuer.mint(user_id, ttl=ttl)))
    return users


def new_run_id() -> str:
    return f"ld{uuid.uuid4().hex[:8]}"


def plain_url(database_url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` URL as libpq understands it."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


@dataclass
class Verdict:
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    cross_user: list[str] = field(default_factory=list)
    landed_unacknowledged: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.cross_user


def verify(database_url: str, users: Sequence[LoadUser], run_id: str) -> Verdict:
    """Compare the ``task`` rows of the run's users (and any row carrying the run's
    marker, wherever it is) with the ledgers."""
    by_id = {u.user_id: u for u in users}
    pending_before = sum(len(u.pending_creates) for u in users)
    query = (
        "SELECT id, user_id, title, description, completed FROM task "
        "WHERE user_id = ANY(%s) OR title LIKE %s"
    )
    with psycopg.connect(plain_url(database_url), connect_timeout=10) as conn:
        rows = conn.execute(query, (list(by_id), f"{run_id}/%")).fetchall()
    verdict = Verdict(rows=len(rows))
    grouped: dict[str, list[dict[str, Any]]] = {uid: [] for uid in by_id}
    for task_id, user_id, title, description, completed in rows:
        row = {"id": task_id, "title": title, "description": description, "completed": completed}
        writer = user_of_title(title, run_id)
        owner = by_id.get(user_id)
        if owner is None or (writer is not None and writer != owner.index):
            verdict.cross_user.append(f"row {task_id} of {user_id} written by u{writer}")
            continue
        grouped[user_id].append(row)
    for user_id, user_rows in grouped.items():
        verdict.problems += check_rows(by_id[user_id], user_rows, adopt=True)
    verdict.landed_unacknowledged = pending_before - sum(len(u.pending_creates) for u in users)
    return verdict


@dataclass(frozen=True)
class Summary:
    seconds: float
    requests: int
    statuses: Counter[str]
    latencies_ms: tuple[float, float, float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def summarize(samples: Sequence[Sample], seconds: float) -> Summary:
    latencies = sorted(s.latency * 1000 for s in samples)
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        pcts = (cuts[49], cuts[94], cuts[98])
    else:
        pcts = (latencies[0],) * 3 if latencies else (0.0, 0.0, 0.0)
    return Summary(seconds, len(samples), Counter(s.outcome for s in samples), pcts)


def figure(name: str, value: str) -> str:
    """One figure per line, label first: what `bench/run_all.py` and other tools read."""
    return f"{name:<44} {value}"


def report_lines(load: Load, summary: Summary, verdict: Verdict, prefix: str = "load") -> list[str]:
    users = load.users
    lines = [
        (f"{prefix} users", f"{len(users)}"),
        (f"{prefix} duration", f"{summary.seconds:.1f} s"),
        (f"{prefix} requests", f"{summary.requests}"),
        (f"{prefix} throughput", f"{summary.rate:.1f} req/s"),
        (f"{prefix} latency p50", f"{summary.latencies_ms[0]:.1f} ms"),
        (f"{prefix} latency p95", f"{summary.latencies_ms[1]:.1f} ms"),
        (f"{prefix} latency p99", f"{summary.latencies_ms[2]:.1f} ms"),
    ]
    for outcome, count in sorted(summary.statuses.items()):
        lines.append((f"{prefix} responses {outcome}", f"{count}"))
    errors = sum(n for o, n in summary.statuses.items() if not (o.isdigit() and int(o) < 400))
    lines += [
        (f"{prefix} errors", f"{errors}"),
        (f"{prefix} acknowledged writes", f"{sum(u.acknowledged_writes for u in users)}"),
        (f"{prefix} ambiguous writes", f"{sum(u.ambiguous_writes for u in users)}"),
        (f"{prefix} read mismatches", f"{len(load.mismatches)}"),
        (f"{prefix} database rows", f"{verdict.rows}"),
        (f"{prefix} ledger problems", f"{len(verdict.problems)}"),
        (f"{prefix} cross-user rows", f"{len(verdict.cross_user)}"),
        (f"{prefix} ledger == database", "yes" if verdict.ok else "NO"),
    ]
    return [figure(name, value) for name, value in lines]


def _rss_of_pids(pids: Iterable[int]) -> int | None:
    total, found = 0, False
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                found = True
    return total if found else None


def service_rss(stack: Stack, service: str) -> int | None:
    """Resident memory (bytes) of every process of a service, or None if unknown."""
    facts = stack.services.get(service)
    if facts is None:
        return None
    if facts.pid is not None:
        return _rss_of_pids(group_members(facts.pid))
    if facts.container is None:
        return None
    from harness import dockerd

    with dockerd.client() as client:
        top = client.containers.get(facts.container).top()
    column = top["Titles"].index("PID")
    # docker top reports host pids; on a Linux host their /proc entries are readable.
    return _rss_of_pids(int(row[column]) for row in top["Processes"])


def memory_lines(stack: Stack, prefix: str = "memory") -> list[str]:
    lines = []
    for service in ("backend", "frontend"):
        rss = service_rss(stack, service)
        value = f"{rss / 2**20:.1f} MiB" if rss is not None else "n/a"
        lines.append(figure(f"{prefix} {service} RSS after load", value))
    return lines
