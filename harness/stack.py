"""What a running stack is, however it was started: plain data, saved as JSON.

A provider (``harness.providers``) starts the four services and returns a ``Stack``: the
URLs, typed facts per service (URL, port, process or container id, log), and what is
needed to control it again from any process. ``harness up`` saves it under ``.harness/``
so ``harness status`` / ``down`` / ``logs`` and ``mint-token`` find it; pytest-xdist
workers receive it the same way.

The control methods (``stop``, ``start``, ``logs``, ``fork``, ``down``) hand the stack to
the provider the registry names for its mode.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import DpopMode, Mode, StackConfig, Trust
from harness.errors import HarnessError, ProviderError
from harness.registry import Provider, provider
from harness.services import SERVICES, Secrets
from harness.settings import state_dir

if TYPE_CHECKING:
    from harness.issuer.client import IssuerClient


@dataclass
class ServiceFacts:
    """What is known about one running service, whatever runs it."""

    # Host-reachable base URL (for PostgreSQL: its database URL).
    url: str
    # The port on 127.0.0.1.
    port: int
    # Local processes: the process (group leader) and its log file.
    pid: int | None = None
    log: str | None = None
    # Local PostgreSQL: the cluster's data directory.
    data_dir: str | None = None
    # Containers: the container's id.
    container: str | None = None


@dataclass(frozen=True)
class NetworkFacts:
    """A container stack's private network and the addresses inside it (for forks)."""

    name: str
    database_url: str
    better_auth_jwks: str
    # Image per service, e.g. {"backend": "tasks-backend:3f2c..."}.
    images: dict[str, str]


@dataclass(frozen=True)
class DemoAccount:
    """The account seeded on a developer's stack (never on test stacks)."""

    email: str
    password: str


@dataclass
class Stack:
    mode: Mode
    # The StackConfig it was started with (ports there may be 0: see `services`).
    config: StackConfig
    run_id: str
    frontend_url: str
    backend_url: str
    database_url: str
    issuer_url: str
    jwt_issuer: str
    jwt_audience: str
    # What the backend trusts, as reachable from the host.
    jwks_url: str
    secrets: Secrets = field(repr=False)
    services: dict[str, ServiceFacts] = field(default_factory=dict)
    network: NetworkFacts | None = None
    # Local stacks: where the run's keys and files live.
    run_dir: str | None = None
    # A fork: the run id of the stack whose database and frontend it shares.
    fork_of: str | None = None
    # Compose stacks: the Compose project.
    project: str | None = None
    demo: DemoAccount | None = None
    # Hot reload: digests of the files it cannot pick up (harness.dependencies).
    not_reloaded: dict[str, str] = field(default_factory=dict)

    def facts(self, service: str) -> ServiceFacts:
        """The service's facts; ProviderError when this stack (or fork) has no such service."""
        found = self.services.get(service)
        if found is None:
            raise ProviderError(f"the stack has no {service} service")
        return found

    @property
    def trust(self) -> Trust:
        return self.config.trust

    @property
    def name(self) -> str:
        return self.config.name

    @functools.cached_property
    def issuer(self) -> IssuerClient:
        """The stack's mock issuer (``IssuerControl`` over HTTP)."""
        from harness.issuer.client import IssuerClient

        return IssuerClient(self.issuer_url)

    # -- control, through the stack's provider ---------------------------------------

    @property
    def provider(self) -> Provider:
        return provider(self.mode)

    def logs(self, service: str) -> str:
        return self.provider.logs(self, service)

    def stop(self, service: str) -> None:
        self.provider.stop(self, service)

    def start(self, service: str) -> None:
        """Start a stopped service again; returns once it is healthy."""
        self.provider.start(self, service)
        # A restarted process has a new pid: keep `harness down` (another process) able to stop it.
        saved = load_saved_stack()
        if saved is not None and saved.run_id == self.run_id:
            save_stack(self)

    def running(self) -> dict[str, bool]:
        return self.provider.running(self)

    def fork(self, config: StackConfig | None = None) -> Stack:
        """A private issuer + backend sharing this stack's database and frontend."""
        return self.provider.fork(self, config or StackConfig(name=f"{self.name}-fork"))

    def down(self) -> None:
        self.provider.down(self)
        if "issuer" in self.__dict__:
            self.issuer.close()

    # -- description ---------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The public description printed by ``harness up --json`` / ``status --json``."""
        return {
            "mode": self.mode.value,
            "name": self.name,
            "trust": self.trust.value,
            "hot_reload": self.config.hot_reload,
            "frontend_url": self.frontend_url,
            "backend_url": self.backend_url,
            "database_url": self.database_url,
            "issuer_url": self.issuer_url,
            "jwt_issuer": self.jwt_issuer,
            "jwt_audience": self.jwt_audience,
            "jwks_url": self.jwks_url,
            **({"demo_email": self.demo.email} if self.demo else {}),
        }

    def to_state(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        state: dict[str, Any] = json.loads(json.dumps(data, default=_jsonable))
        return state

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Stack:
        config = data["config"]
        network = data.get("network")
        demo = data.get("demo")
        return cls(
            **{
                **data,
                "mode": Mode(data["mode"]),
                "config": StackConfig(
                    **{
                        **config,
                        "trust": Trust(config["trust"]),
                        "dpop_mode": DpopMode(config["dpop_mode"]),
                        "jwks_rotation": tuple(config["jwks_rotation"]),
                    }
                ),
                "secrets": Secrets(**data["secrets"]),
                "services": {
                    name: ServiceFacts(**facts) for name, facts in data.get("services", {}).items()
                },
                "network": NetworkFacts(**network) if network else None,
                "demo": DemoAccount(**demo) if demo else None,
            }
        )


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def service_names(stack: Stack) -> list[str]:
    """The stack's services in start order (a fork has only its own)."""
    return [name for name in SERVICES if name in stack.services]


# -- the saved stack (`harness up` ... `harness down`) ----------------------------------


def saved_stack_path() -> Path:
    return state_dir() / "stack.json"


def save_stack(stack: Stack) -> Path:
    path = saved_stack_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # It holds the stack's secrets: readable by the owner only, written atomically.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(stack.to_state(), out, indent=2)
    tmp.replace(path)
    return path


def load_saved_stack() -> Stack | None:
    path = saved_stack_path()
    if not path.exists():
        return None
    try:
        return Stack.from_state(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(
            f"{path} is unreadable ({type(exc).__name__}: {exc}); if no stack is up, delete it"
        ) from None


def forget_saved_stack() -> None:
    saved_stack_path().unlink(missing_ok=True)
