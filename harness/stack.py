"""What a running stack is, however it was started: URLs, the issuer, service control.

Providers (``harness.provider_local``, ``harness.provider_containers``) start the same four
services -- postgres, backend, frontend, issuer -- and hand back a ``Stack``. The stack's
description is saved under ``.harness/`` so ``harness status`` / ``down`` / ``logs`` and
``mint-token`` find a stack that ``harness up`` left running.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from harness.issuer_client import IssuerClient

Mode = Literal["containers", "local"]
Trust = Literal["both", "better-auth"]
DpopMode = Literal["off", "optional", "required"]
SERVICES = ("postgres", "issuer", "backend", "frontend")


class ProviderError(RuntimeError):
    """A service could not be started; the message names it and shows its last log lines."""


def state_dir() -> Path:
    """Where keys, logs and the saved stack live (``HARNESS_HOME``, default ``./.harness``)."""
    return Path(os.environ.get("HARNESS_HOME", ".harness")).resolve()


@dataclass(frozen=True)
class StackConfig:
    """How to start a stack. Ports of 0 mean "pick free ones"."""

    # "both": the backend trusts the mock issuer's JWKS, which also serves Better Auth's
    # keys, so minted and real tokens are accepted. "better-auth": the real flow only.
    trust: Trust = "both"
    frontend_port: int = 0
    backend_port: int = 0
    issuer_port: int = 0
    postgres_port: int = 0
    jwt_expiration: str = "15m"
    jwks_cooldown_seconds: float = 30.0
    auth_rate_limit: bool = True
    # Token binding (DPOP_MODE) for backend and frontend: off, optional or required.
    dpop_mode: DpopMode = "optional"
    # A stable secret keeps Better Auth's encrypted signing keys usable across restarts.
    auth_secret: str = "harness-dev-secret-change-me-0123456789abcdef"
    name: str = "harness"


@dataclass
class Stack:
    mode: Mode
    frontend_url: str
    backend_url: str
    database_url: str
    issuer_url: str
    jwt_issuer: str
    jwt_audience: str
    trust: Trust
    jwks_url: str
    # Provider-specific handles (pids, container ids, paths) needed to control or remove it.
    resources: dict[str, Any] = field(default_factory=dict)
    _issuer: IssuerClient | None = field(default=None, repr=False, compare=False)

    @property
    def issuer(self) -> IssuerClient:
        if self._issuer is None:
            self._issuer = IssuerClient(self.issuer_url)
        return self._issuer

    def with_own_issuer(
        self, *, issuer_url: str, backend_url: str, resources: dict[str, Any]
    ) -> Stack:
        """A fork's description: this stack's frontend and database, its own issuer and backend."""
        return Stack(
            mode=self.mode,
            frontend_url=self.frontend_url,
            backend_url=backend_url,
            database_url=self.database_url,
            issuer_url=issuer_url,
            jwt_issuer=self.jwt_issuer,
            jwt_audience=self.jwt_audience,
            trust="both",
            jwks_url=f"{issuer_url}/jwks",
            resources=resources,
        )

    def summary(self) -> dict[str, Any]:
        """The public description printed by ``harness up --json``."""
        data = asdict(self)
        data.pop("_issuer", None)
        data.pop("resources", None)
        return data

    def to_state(self) -> dict[str, Any]:
        data = self.summary()
        data["resources"] = self.resources
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Stack:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields.pop("_issuer", None)
        return cls(**fields)

    # Service control is delegated to the provider that owns the resources.
    def logs(self, service: str) -> str:
        return controller(self).logs(service)

    def stop(self, service: str) -> None:
        controller(self).stop_service(service)

    def start(self, service: str) -> None:
        controller(self).start_service(service)
        # A restarted process has a new pid: keep `harness down` (another process) able to stop it.
        saved = load_saved_stack()
        if saved is not None and saved.backend_url == self.backend_url:
            save_stack(self)

    def fork(self, config: StackConfig | None = None) -> Stack:
        """A private issuer + backend sharing this stack's database and frontend."""
        return controller(self).fork(config or StackConfig())

    def down(self) -> None:
        controller(self).down()
        if self._issuer is not None:
            self._issuer.close()


class Controller(Protocol):
    def logs(self, service: str) -> str: ...
    def stop_service(self, service: str) -> None: ...
    def start_service(self, service: str) -> None: ...
    def down(self) -> None: ...
    def running(self) -> dict[str, bool]: ...
    def fork(self, config: StackConfig) -> Stack: ...


def controller(stack: Stack) -> Controller:
    if stack.mode == "local":
        from harness.provider_local import LocalController

        return LocalController(stack)
    from harness.provider_containers import ContainersController

    return ContainersController(stack)


def saved_stack_path() -> Path:
    return state_dir() / "stack.json"


def save_stack(stack: Stack) -> Path:
    path = saved_stack_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stack.to_state(), indent=2))
    return path


def load_saved_stack() -> Stack | None:
    path = saved_stack_path()
    if not path.exists():
        return None
    return Stack.from_state(json.loads(path.read_text()))


def forget_saved_stack() -> None:
    saved_stack_path().unlink(missing_ok=True)
