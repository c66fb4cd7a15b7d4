"""One description per service (harness/services.py), and every copy of it kept in step:
docker-compose.yml and docker-compose.dev.yml (hand-written for `docker compose` users),
the containers provider, the local provider and the frontend's dev image."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import StackConfig, Trust
from harness.providers.compose import compose_variables
from harness.providers.containers import ISSUER_KEY_FILE, network_topology, reload_dirs
from harness.providers.local import _topology as local_topology
from harness.services import (
    SPECS,
    Condition,
    Secrets,
    backend_environment,
    backend_serve_arguments,
    frontend_dev_command,
    frontend_environment,
    issuer_arguments,
    postgres_environment,
)

ROOT = Path(__file__).resolve().parents[2]
SECRETS = Secrets("pg-secret", "auth-secret")
PORTS = {"postgres": 15432, "issuer": 19000, "backend": 18000, "frontend": 13000}
IMAGES = {name: f"tasks-{name}:0123456789abcdef" for name in PORTS}
# ${NAME}, ${NAME:-default}, ${NAME:?error} and $$ -- the part of Compose's interpolation
# these files use; written here so this check needs no Docker.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""

    return _VARIABLE.sub(substitute, value)


def compose_services(hot_reload: bool, variables: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml (with the hot-reload file merged over it) as Compose renders it."""
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    if hot_reload:
        override = yaml.safe_load((ROOT / "docker-compose.dev.yml").read_text())["services"]
        for name, changes in override.items():
            merged = services[name]
            for key, value in changes.items():
                if isinstance(value, dict):
                    merged[key] = {**merged.get(key, {}), **value}
                elif key == "volumes":
                    merged[key] = [*merged.get(key, []), *value]
                else:
                    merged[key] = value
    rendered: dict[str, Any] = interpolate(services, variables)
    return rendered


def dockerfile_cmd(name: str) -> list[str]:
    lines = (ROOT / "compose" / name).read_text().splitlines()
    cmd: list[str] = json.loads([line for line in lines if line.startswith("CMD ")][-1][4:])
    return cmd


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in service.get("environment", {}).items()}


@pytest.mark.parametrize("hot_reload", [False, True], ids=["production", "hot-reload"])
@pytest.mark.parametrize("trust", list(Trust), ids=str)
def test_compose_environment_is_the_description(hot_reload: bool, trust: Trust) -> None:
    config = StackConfig(
        trust=trust, hot_reload=hot_reload, jwt_expiration="7m", jwks_cooldown_seconds=2.5,
        auth_rate_limit=False,
    )  # fmt: skip
    services = compose_services(hot_reload, compose_variables(config, PORTS, SECRETS, IMAGES))
    topology = network_topology(PORTS, SECRETS)

    assert compose_environment(services["postgres"]) == postgres_environment(SECRETS)
    assert compose_environment(services["backend"]) == backend_environment(topology, config)
    assert compose_environment(services["frontend"]) == frontend_environment(
        topology, config, SECRETS
    )
    assert services["issuer"]["command"] == issuer_arguments(topology, ISSUER_KEY_FILE)
    for name, service in services.items():
        assert service["image"] == IMAGES[name]


def test_plain_compose_up_is_a_default_developer_stack() -> None:
    """`docker compose up` with only the secrets set (what `.env` holds) runs the
    description's defaults: real-flow trust, ports 3000/8000/5432/9000."""
    variables = {
        "POSTGRES_PASSWORD": SECRETS.postgres_password,
        "BETTER_AUTH_SECRET": SECRETS.auth_secret,
    }
    services = compose_services(False, variables)
    ports = {"postgres": 5432, "issuer": 9000, "backend": 8000, "frontend": 3000}
    topology = network_topology(ports, SECRETS)
    config = StackConfig(trust=Trust.BETTER_AUTH, backend_workers=None)  # the CPU count
    assert compose_environment(services["backend"]) == backend_environment(topology, config)
    assert compose_environment(services["frontend"]) == frontend_environment(
        topology, config, SECRETS
    )
    assert services["issuer"]["profiles"] == ["issuer"]
    for name, service in services.items():
        assert service["image"] == f"tasks-{name}:latest"
        assert service["ports"] == [f"127.0.0.1:{ports[name]}:{SPECS[name].port}"]


def test_compose_dependencies_and_health_checks_are_the_description() -> None:
    services = compose_services(False, {"POSTGRES_PASSWORD": "x", "BETTER_AUTH_SECRET": "y"})
    for name, spec in SPECS.items():
        declared = services[name].get("depends_on", {})
        assert {dep: Condition(v["condition"]) for dep, v in declared.items()} == dict(
            spec.depends_on
        ), name
        check = " ".join(services[name]["healthcheck"]["test"])
        assert (spec.health or "pg_isready") in check, name
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_hot_reload_runs_the_described_commands_on_the_described_sources() -> None:
    services = compose_services(True, {"POSTGRES_PASSWORD": "x", "BETTER_AUTH_SECRET": "y"})
    backend = SPECS["backend"]
    assert services["backend"]["command"] == [
        "python3",
        *backend_serve_arguments("0.0.0.0", backend.port, reload_dirs("backend")),
    ]
    for name in ("backend", "frontend"):
        mounted = [
            volume for volume in services[name]["volumes"] if volume.startswith(f"./{name}/")
        ]
        expected = [
            f"./{name}/{source}:{inside}:ro"
            for source, inside in zip(SPECS[name].reload_sources, reload_dirs(name), strict=True)
        ]
        assert mounted == expected, name
    # The images' commands are the described ones: the launcher, `next dev`.
    assert dockerfile_cmd("backend.Dockerfile") == [
        "python3",
        *backend_serve_arguments("0.0.0.0", backend.port),
    ]
    dockerfile = (ROOT / "compose" / "frontend.Dockerfile").read_text()
    stage = dockerfile.split("FROM deps AS dev", 1)[1].split("\nFROM ", 1)[0]
    cmd = next(line for line in stage.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd.removeprefix("CMD ")) == frontend_dev_command(
        "0.0.0.0", SPECS["frontend"].port
    )


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_local_and_containers_differ_only_in_addresses(service: str) -> None:
    """Both providers build a service's environment from the one description: the same
    variables, and equal values wherever the value is not an address."""
    config = StackConfig(jwt_expiration="3m")
    local, containers = local_topology(PORTS), network_topology(PORTS, SECRETS)
    if service == "backend":
        ours, theirs = backend_environment(local, config), backend_environment(containers, config)
    else:
        ours = frontend_environment(local, config, SECRETS)
        theirs = frontend_environment(containers, config, SECRETS)
    assert set(ours) == set(theirs)
    addresses = {"DATABASE_URL", "JWKS_URL", "PORT", "HOSTNAME"}
    for name in set(ours) - addresses:
        assert ours[name] == theirs[name], name
    # Same browser-visible origins on the same ports: the tokens' iss/aud agree.
    assert replace(local, database_url="", better_auth_jwks="", issuer_jwks="",
                   listen_host="", frontend_port=0) == replace(
        containers, database_url="", better_auth_jwks="", issuer_jwks="", listen_host="",
        frontend_port=0,
    )  # fmt: skip
