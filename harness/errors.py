"""The harness's expected failures: one base class, so callers catch exactly these.

The CLI prints a ``HarnessError`` as one line and exits 1 (``UsageError``: 2); anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


class UsageError(HarnessError):
    """Bad arguments or settings (the CLI exits 2)."""


class NoStackError(HarnessError):
    """No saved stack: `harness up` has not run, or `harness down` removed it."""


class ProviderError(HarnessError):
    """A service could not be started, stopped or reached; the message names it and shows
    its last log lines."""


class ImageBuildError(ProviderError):
    """An image could not be built; the message names the failing step and its output."""


class PostgresError(ProviderError):
    """A throw-away PostgreSQL cluster could not be created or started."""


class IssuerError(HarnessError):
    """The mock issuer refused a request or could not be reached."""
