"""`python -m todo_api.serve`: migrate once, then serve with `WEB_CONCURRENCY` uvicorn workers
(or, with `--reload-dir`, one process restarted when a source file changes).

Each worker is a process with its own event loop, connection pool and JWKS cache; the
migration runs here, in the parent, before any worker starts, so N workers never race
(or wait on each other) for `alembic upgrade head`. `uvicorn todo_api.main:app` keeps
working for a single process that migrates itself.
"""

from __future__ import annotations

import argparse
import os
import secrets

import uvicorn

from todo_api.logs import configure_logging, logger
from todo_api.migrate import upgrade
from todo_api.settings import PROXY_TRUST_VARIABLE, load_settings


def cpu_count() -> int:
    """CPUs this process may run on (honours taskset/cpusets, not CFS quotas)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    return int(configured) if configured else cpu_count()


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        type=positive,
        default=None,
        help="worker processes (default: $WEB_CONCURRENCY, else the CPU count)",
    )
    parser.add_argument(
        "--reload-dir",
        action="append",
        default=[],
        help="development: one process, restarted when a file here changes (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        workers = args.workers or positive(str(default_workers()))
    except (ValueError, argparse.ArgumentTypeError):
        parser.error("WEB_CONCURRENCY must be a whole number of at least 1")
    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.migrate_on_start:
        upgrade(settings.database_url)
        logger.info("database migrated to head")
    # The workers import todo_api.main afresh and read the environment: already migrated.
    os.environ["MIGRATE_ON_START"] = "false"
    # No proxy is trusted unless one is named (uvicorn's own default trusts loopback).
    os.environ.setdefault(PROXY_TRUST_VARIABLE, "")
    # A nonce one worker issues must be good at the others: one key for all of them.
    if not os.environ.get("DPOP_NONCE_SECRET"):
        os.environ["DPOP_NONCE_SECRET"] = secrets.token_urlsafe(32)
    if args.reload_dir:
        workers = 1  # a restart replaces the one process
    logger.info("serving", extra={"workers": workers, "host": args.host, "port": args.port})
    uvicorn.run(
        "todo_api.main:app",
        host=args.host,
        port=args.port,
        workers=workers,
        reload=bool(args.reload_dir),
        reload_dirs=args.reload_dir or None,
        access_log=False,  # the app writes its own access lines (with the request id)
        log_config=None,  # keep the JSON logging configured above (and by each worker)
    )


if __name__ == "__main__":
    main()
