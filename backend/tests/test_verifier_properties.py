"""Property: whatever a token's JOSE header and claims hold, the API answers 200 only for a
token that is valid, and otherwise 401 (or 503 while a kid cannot be looked up): never
another status, never a 5xx. Thousands of tokens through the real app and its verifier.

A token starts valid -- RS256 by the trusted key, the right kid, iss, aud, sub, exp, iat --
and is varied in ways that keep it valid (extra header parameters and claims of any JSON
type, nesting, size and script; an audience list; float times; any printable subject)
and, independently, given zero or more faults, each of which makes it invalid (a value of
the wrong type or range, a missing member, a bad signature, a non-object segment, ...).
The oracle is the construction: valid exactly when no fault was applied and the token
fits the size limit. Times keep well clear of the leeway, so the run's own duration
cannot flip a verdict.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from backend_support import AUDIENCE, ISSUER, FakeClock, b64url, settings_for
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm
from todo_api.app import create_app
from todo_api.auth.verifier import DEFAULT_MAX_LIFETIME, MAX_SUB_LENGTH, MAX_TOKEN_LENGTH

from harness.issuer import Issuer
from harness.issuer.server import IssuerServer

EXAMPLES = 2000
LEEWAY = 10
MARGIN = 60  # seconds between any generated time and the edge it must stay clear of
CAP = DEFAULT_MAX_LIFETIME
RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
REGISTERED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "nbf", "jti")
HEADER_NAMES = ("typ", "cty", "jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "zip", "enc", "url")

# --- values of any JSON type, nesting, size and script ---------------------------------

text_any = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**400),
    st.floats(),  # NaN and the infinities too: Python's json writes and reads them
    text_any,
    st.text(max_size=3000),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text_any, inner, max_size=4),
    max_leaves=12,
)
deep_nesting = st.integers(min_value=50, max_value=3000).map(lambda n: "[" * n + "]" * n)


def non_numbers() -> st.SearchStrategy[Any]:
    return json_values.filter(lambda v: isinstance(v, bool) or not isinstance(v, int | float))


# --- the pieces of a valid token ---------------------------------------------------------

printable = st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="/")
valid_subs = st.text(printable, min_size=1, max_size=255).filter(
    # "/" and dot segments could not be a path segment of the user's own URL.
    lambda s: bool(s.strip()) and s not in {".", ".."}
)


def invalid_sub(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SUB_LENGTH:
        return True
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in value)


def valid_aud(value: Any) -> bool:
    if value == AUDIENCE:
        return True
    return isinstance(value, list) and AUDIENCE in value and all(isinstance(v, str) for v in value)


@dataclass(frozen=True)
class Ago:
    """A time relative to the moment the token is built (drawing must not read the clock:
    Hypothesis replays draws and needs them to come out the same)."""

    seconds: int | float

    def at(self, now: int) -> int | float:
        return now - self.seconds


@st.composite
def times(draw: st.DrawFn) -> dict[str, Any]:
    """iat, exp (and maybe nbf) that are valid when built, as ints or floats."""
    iat_ago = draw(st.integers(0, 600))
    exp_ahead: int | float = draw(st.integers(MARGIN, CAP - iat_ago - MARGIN))
    if draw(st.booleans()):
        exp_ahead += draw(st.floats(0, 0.999))
    claims: dict[str, Any] = {"iat": Ago(iat_ago), "exp": Ago(-exp_ahead)}
    if draw(st.booleans()):
        claims["nbf"] = Ago(draw(st.integers(MARGIN, 10**6)))
    return claims


# --- faults: each makes the token invalid on its own --------------------------------------

future = st.integers(LEEWAY + MARGIN, 10**6).map(lambda ahead: Ago(-ahead))
huge = st.integers(2**53 + 1, 10**400)  # beyond any NumericDate (and beyond a float)
FAULT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "alg": st.one_of(
        st.sampled_from(["none", "None", "HS256", "RS512", "PS256", "ES256", "EdDSA"]),
        st.sampled_from(["rs256", "RS256 ", " RS256", "RS256\x00"]),
        json_values.filter(lambda v: v != "RS256"),
    ),
    "iss": json_values.filter(lambda v: v != ISSUER),
    "aud": st.one_of(
        json_values.filter(lambda v: not valid_aud(v)),
        st.sampled_from([[AUDIENCE, 1], {"aud": AUDIENCE}, AUDIENCE + "/", [], ""]),
    ),
    "sub": st.one_of(
        json_values.filter(invalid_sub),
        st.sampled_from(["", "   ", "x" * 256, "a\r\nb", "a\x00", "\ud800", "\x85"]),
    ),
    "exp": st.one_of(
        st.integers(LEEWAY + MARGIN, 10**6).map(Ago),  # expired
        st.integers(CAP + LEEWAY + MARGIN, 10**9).map(lambda ahead: Ago(-ahead)),  # too long
        huge,
        st.sampled_from([float("inf"), float("-inf"), float("nan")]),
        non_numbers(),
    ),
    "iat": st.one_of(future, non_numbers(), huge),
    "nbf": st.one_of(future, non_numbers(), huge),
    "jti": json_values.filter(lambda v: not isinstance(v, str)),
    "crit": json_values,
    "b64": json_values,
}
FAULTS = (
    *FAULT_VALUES,
    "kid",
    "drop-alg",
    "drop-kid",
    "header-not-object",
    "header-not-json",
    "drop-claim",
    "lifetime",
    "claims-not-object",
    "signature",
    "foreign-key",
    "segments",
)


@dataclass(frozen=True)
class Case:
    header: Any
    claims: Any
    sub: str
    faults: frozenset[str]
    raw_header: bytes | None  # replaces the header segment (header-not-json)
    signature: bytes | None  # replaces the signature (signature)
    segments: int  # which malformed shape (segments)

    @property
    def valid_by_construction(self) -> bool:
        return not self.faults

    def token(self, now: int, key: rsa.RSAPrivateKey, foreign: rsa.RSAPrivateKey) -> str:
        claims = self.claims
        if isinstance(claims, dict):
            claims = {k: v.at(now) if isinstance(v, Ago) else v for k, v in claims.items()}
        head = b64url(self.raw_header if self.raw_header is not None else _json(self.header))
        signing_input = f"{head}.{b64url(_json(claims))}"
        signer = foreign if "foreign-key" in self.faults else key
        signature = RS256.sign(signing_input.encode(), signer)
        if self.signature is not None:
            # Never the genuine signature: a drawn value equal to it is flipped.
            signature = self.signature if self.signature != signature else signature[::-1]
        token = f"{signing_input}.{b64url(signature)}"
        if "segments" in self.faults:
            parts = token.split(".")
            shapes = [".".join(parts[:2]), ".".join([*parts, parts[2]]), "....", parts[0]]
            token = shapes[self.segments % len(shapes)]
        return token


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def cases(draw: st.DrawFn, kid: str) -> Case:
    faults = frozenset(draw(st.sets(st.sampled_from(FAULTS), max_size=3)))

    header: Any = {"alg": "RS256", "kid": kid}
    names = st.sampled_from(HEADER_NAMES) | text_any
    for name, value in draw(st.dictionaries(names, json_values, max_size=4)).items():
        if name not in ("alg", "kid", "crit", "b64"):
            header[name] = value
    sub = draw(valid_subs)
    audiences = st.lists(text_any, max_size=3).map(lambda others: [*others, AUDIENCE])
    claims: Any = {"iss": ISSUER, "aud": draw(st.just(AUDIENCE) | audiences), "sub": sub}
    claims.update(draw(times()))
    if draw(st.booleans()):
        claims["jti"] = draw(text_any)
    for name, value in draw(st.dictionaries(text_any, json_values, max_size=4)).items():
        if name not in REGISTERED_CLAIMS:
            claims[name] = value

    # Applied in a fixed order; none undoes another (each leaves the token invalid).
    for fault in sorted(faults):
        if fault in ("alg", "crit", "b64"):
            header[fault] = draw(FAULT_VALUES[fault])
        elif fault == "kid":
            header["kid"] = draw(json_values.filter(lambda v: v != kid))
        elif fault in ("drop-alg", "drop-kid"):
            header.pop(fault.removeprefix("drop-"), None)
        elif fault in ("iss", "aud", "sub", "exp", "iat", "nbf", "jti"):
            claims[fault] = draw(FAULT_VALUES[fault])
        elif fault == "drop-claim":
            claims.pop(draw(st.sampled_from(["iss", "aud", "sub", "exp", "iat"])), None)
        elif fault == "lifetime":
            # Both times plausible on their own; together longer than the cap.
            iat_ago = draw(st.integers(MARGIN, 10**6))
            claims["iat"] = Ago(iat_ago)
            claims["exp"] = Ago(iat_ago - CAP - draw(st.integers(MARGIN, 10**6)))
    if "header-not-object" in faults:
        header = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    if "claims-not-object" in faults:
        claims = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    raw_header = None
    if "header-not-json" in faults:
        raw_header = draw(st.binary(max_size=64) | deep_nesting.map(str.encode))
    signature = draw(st.binary(max_size=300)) if "signature" in faults else None
    return Case(header, claims, sub, faults, raw_header, signature, draw(st.integers(0, 3)))


class Client:
    """The app with its lifespan on one event loop, called from synchronous code (Hypothesis
    drives a plain function; the verifier's caches live on this loop across examples)."""

    def __init__(self, app: FastAPI) -> None:
        self._runner = asyncio.Runner()
        self._stack = AsyncExitStack()
        self._app = app
        self._http: httpx.AsyncClient | None = None

    def __enter__(self) -> Client:
        async def start() -> httpx.AsyncClient:
            await self._stack.enter_async_context(self._app.router.lifespan_context(self._app))
            transport = httpx.ASGITransport(app=self._app)
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return await self._stack.enter_async_context(client)

        self._http = self._runner.run(start())
        return self

    def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        assert self._http is not None
        return self._runner.run(self._http.get(path, headers=headers))

    def __exit__(self, *_: object) -> None:
        self._runner.run(self._stack.aclose())
        self._runner.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[Client, Issuer]]:
    issuer = Issuer(ISSUER, AUDIENCE)
    with IssuerServer(issuer) as jwks:
        app = create_app(
            settings_for(f"sqlite:///{tmp_path / 'todo.db'}", jwks.jwks_url), monotonic=FakeClock()
        )
        with Client(app) as http:
            yield http, issuer


def test_only_valid_tokens_are_accepted_and_nothing_else_is_a_server_error(
    client: tuple[Client, Issuer],
) -> None:
    http, issuer = client
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    counts = {"examples": 0, "valid": 0, "503": 0}
    seen_faults: set[str] = set()
    key = issuer.private_key()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(issuer.kid))
    def check(case: Case) -> None:
        token = case.token(int(time.time()), key, foreign)
        valid = case.valid_by_construction and len(token) <= MAX_TOKEN_LENGTH
        counts["examples"] += 1
        seen_faults.update(case.faults)
        sub = case.sub
        response = http.get(
            f"/api/{quote(sub, safe='')}/tasks", headers={"Authorization": f"Bearer {token}"}
        )
        if valid:
            counts["valid"] += 1
            assert response.status_code == 200, response.text
            return
        assert response.status_code in (401, 503), (response.status_code, response.text)
        error = response.json()["error"]
        if response.status_code == 401:
            assert error["code"] == "invalid_token"
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        else:
            counts["503"] += 1
            assert error["code"] == "jwks_unavailable"
            assert int(response.headers["retry-after"]) >= 1

    check()
    assert counts["examples"] >= EXAMPLES
    # The oracle's both sides are exercised: a run of only refusals would prove little.
    assert counts["valid"] >= EXAMPLES // 20, counts
    assert seen_faults == set(FAULTS)
    print(f"\nverifier property: {counts}")
