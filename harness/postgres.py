"""A throw-away PostgreSQL cluster on a free loopback port (initdb into a temp dir).

Used by the backend's tests and by the local provider. ``initdb`` refuses to run as
root, so as root the cluster is owned by the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from harness.errors import PostgresError
from harness.ports import free_port
from harness.settings import settings


def find_bindir() -> Path:
    """PostgreSQL server binaries: ``HARNESS_PG_BIN``, else the newest Debian install, else PATH."""
    configured = settings().pg_bin
    if configured is not None:
        return configured
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresError(
        "PostgreSQL server binaries not found: install them (Debian: apt-get install "
        "postgresql) or set HARNESS_PG_BIN"
    )


class TempPostgres:
    """Context manager: ``with TempPostgres() as pg: pg.url``. Removed on exit."""

    def __init__(self, *, port: int | None = None, root: Path | None = None) -> None:
        self.bindir = find_bindir()
        self.port = port or free_port()
        self._root = root
        self.datadir: Path | None = None
        self._user = "postgres" if os.geteuid() == 0 else None

    @classmethod
    def attach(cls, datadir: Path, port: int) -> TempPostgres:
        """Control a cluster created earlier (e.g. by ``harness up`` in another process)."""
        pg = cls(port=port)
        pg.datadir = datadir
        return pg

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        assert self.datadir is not None
        return self.datadir.parent / "postgres.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def init(self) -> TempPostgres:
        # As root the cluster belongs to the postgres user, who may not traverse `root` (a
        # 0700 parent, say): the system temp dir is reachable by every user.
        base = Path(tempfile.mkdtemp(prefix="harness-pg-", dir=None if self._user else self._root))
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        self.datadir = base / "data"
        done = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        if done.returncode != 0:
            raise PostgresError(f"initdb failed: {_last_lines(done.stderr)}")
        return self

    def start(self) -> TempPostgres:
        if self.datadir is None:
            self.init()
        assert self.datadir is not None
        options = (
            f"-p {self.port} -k {self.datadir.parent} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        done = self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "30",
            "start",
        )
        if done.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else done.stderr
            raise PostgresError(f"postgres did not start on port {self.port}: {_last_lines(log)}")
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.datadir is not None and (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return self.datadir is not None and (
            self._run("pg_ctl", "-D", str(self.datadir), "status").returncode == 0
        )

    def remove(self) -> None:
        self.stop("immediate")
        if self.datadir is not None:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)
            self.datadir = None

    def create_database(self, name: str) -> str:
        """Create a database (if missing) and return its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"invalid database name {name!r}")
        with psycopg.connect(self.url_for("postgres", "postgresql"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.remove()


def _last_lines(text: str, count: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-count:])
