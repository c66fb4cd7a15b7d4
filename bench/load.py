"""`make load`: N users of mixed CRUD against a stack; exit 1 when the database and the
ledger disagree (``harness.load`` has the driver and the ledger).

    .venv/bin/python -m bench.load --mode local|containers|saved --users 50 --seconds 20

Prints one line per figure: requests/s, latency percentiles, counts per status, the
ledger verdict and the RSS of the backend and frontend after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from harness.config import Mode, StackConfig
from harness.load import Load, make_users, memory_lines, new_run_id, report_lines, summarize, verify
from harness.providers import start_stack
from harness.stack import Stack, load_saved_stack


def _obtain(mode: str) -> tuple[Stack, bool]:
    if mode == "saved":
        saved = load_saved_stack()
        if saved is None:
            raise SystemExit("--mode saved: no stack is up (run `harness up`)")
        return saved, False
    print(f"starting a {mode} stack", file=sys.stderr)
    return start_stack(Mode(mode), StackConfig(name="load", auth_rate_limit=False)), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=(*(m.value for m in Mode), "saved"), default="saved")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pace-ms", type=float, default=0.0, help="mean think time per user")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    stack, started = _obtain(args.mode)
    try:
        run_id = new_run_id()
        users = make_users(stack.issuer, args.users, run_id)
        load = Load(stack.backend_url, users, run_id, pace=args.pace_ms / 1000, seed=args.seed)
        began = time.monotonic()
        asyncio.run(load.run_for(args.seconds))
        summary = summarize(load.samples, time.monotonic() - began)
        verdict = verify(stack.database_url, users, run_id)
        label = f"({stack.mode})"
        lines = [
            *report_lines(load, summary, verdict, f"load {label}"),
            *memory_lines(stack, f"memory {label}"),
        ]
        for line in lines:
            print(line, flush=True)
        for problem in [*load.mismatches, *verdict.problems, *verdict.cross_user][:20]:
            print(f"problem: {problem}", file=sys.stderr)
    finally:
        if started:
            stack.down()
    return 0 if verdict.ok and not load.mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
