"""harness.dpop and the DPoP cases of the attack corpus build what they claim (offline)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from harness.attacks import DPOP_ATTACKS, DPOP_BY_NAME, REFUSED, DpopAttack, DpopContext
from harness.dpop import DpopKey, access_token_hash, bound_claims, htu, thumbprint
from harness.issuer import Issuer

ORIGIN = "http://localhost:3000"
URL = "http://localhost:8000/api/user-1/tasks"


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer(ORIGIN)


@pytest.fixture
def ctx(issuer: Issuer) -> DpopContext:
    return DpopContext.create(issuer, "user-1", URL)


def _proof_parts(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(proof), jwt.decode(proof, options={"verify_signature": False})


def test_a_proof_has_every_field_and_verifies_with_its_own_key() -> None:
    key = DpopKey.generate()
    proof = key.proof("POST", f"{URL}?limit=5#top", token="a.b.c")
    header, claims = _proof_parts(proof)
    assert header == {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk}
    assert set(key.public_jwk) == {"kty", "crv", "x", "y"}
    verified = jwt.decode(proof, jwt.PyJWK(header["jwk"]).key, algorithms=["ES256"])
    assert verified["htm"] == "POST"
    assert verified["htu"] == URL
    assert verified["ath"] == access_token_hash("a.b.c")
    assert abs(verified["iat"] - time.time()) < 5
    assert claims["jti"] != _proof_parts(key.proof("POST", URL))[1]["jti"]


def test_htu_drops_query_and_fragment() -> None:
    assert htu("https://api.test:8443/x/y?q=1#f") == "https://api.test:8443/x/y"
    assert htu("https://api.test") == "https://api.test/"


def test_key_file_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "dpop.json"
    key, created = DpopKey.load_or_create(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = DpopKey.load_or_create(path)
    assert not created_again
    assert again.jkt == key.jkt == thumbprint(key.public_jwk)


def test_unreadable_key_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}))
    with pytest.raises(ValueError, match=r"bad\.json"):
        DpopKey.load(path)


def test_context_tokens_are_bound_and_unbound(issuer: Issuer, ctx: DpopContext) -> None:
    bound = jwt.decode(ctx.bound_token, issuer.public_key(), algorithms=["RS256"], audience=ORIGIN)
    assert bound["cnf"] == bound_claims(ctx.key.jkt)["cnf"]
    unbound = jwt.decode(
        ctx.unbound_token, issuer.public_key(), algorithms=["RS256"], audience=ORIGIN
    )
    assert "cnf" not in unbound


def test_dpop_corpus_covers_the_issue_list() -> None:
    names = set(DPOP_BY_NAME)
    assert {
        "dpop-missing-proof",
        "dpop-replayed",
        "dpop-wrong-method",
        "dpop-wrong-url",
        "dpop-iat-stale",
        "dpop-iat-future",
        "dpop-wrong-key",
        "dpop-ath-mismatch",
        "dpop-alg-hs256",
        "dpop-alg-none",
        "dpop-private-key-in-header",
        "dpop-bound-as-bearer",
    } <= names
    assert [a.name for a in DPOP_ATTACKS if a.is_control("optional")] == [
        "dpop-valid",
        "dpop-bearer-unbound",
    ]
    assert [a.name for a in DPOP_ATTACKS if a.is_control("required")] == ["dpop-valid"]
    assert [a.name for a in DPOP_ATTACKS if a.replay] == ["dpop-replayed"]


@pytest.mark.parametrize("attack", DPOP_ATTACKS, ids=lambda a: a.name)
def test_every_dpop_case_builds_headers(ctx: DpopContext, attack: DpopAttack) -> None:
    headers = attack.build(ctx)
    names = [name for name, _ in headers]
    assert names.count("Authorization") == 1
    assert set(names) <= {"Authorization", "DPoP"}


def _proof_of(ctx: DpopContext, name: str) -> str:
    proofs = [value for header, value in DPOP_BY_NAME[name].build(ctx) if header == "DPoP"]
    assert len(proofs) == 1
    return proofs[0]


def test_each_proof_case_changes_only_its_defect(ctx: DpopContext) -> None:
    good_header, good = _proof_parts(_proof_of(ctx, "dpop-valid"))
    assert good["ath"] == access_token_hash(ctx.bound_token)
    assert good_header["jwk"] == ctx.key.public_jwk
    assert _proof_parts(_proof_of(ctx, "dpop-wrong-method"))[1]["htm"] == "DELETE"
    assert _proof_parts(_proof_of(ctx, "dpop-wrong-path"))[1]["htu"] == f"{URL}/other"
    assert "ath" not in _proof_parts(_proof_of(ctx, "dpop-ath-missing"))[1]
    assert _proof_parts(_proof_of(ctx, "dpop-ath-mismatch"))[1]["ath"] == access_token_hash(
        ctx.unbound_token
    )
    stale = _proof_parts(_proof_of(ctx, "dpop-iat-stale"))[1]["iat"]
    assert isinstance(stale, int)
    assert stale < time.time() - 500
    assert "d" in _proof_parts(_proof_of(ctx, "dpop-private-key-in-header"))[0]["jwk"]
    assert _proof_parts(_proof_of(ctx, "dpop-alg-none"))[0]["alg"] == "none"
    assert _proof_of(ctx, "dpop-alg-none").endswith(".")
    hs = _proof_parts(_proof_of(ctx, "dpop-alg-hs256"))[0]
    assert hs["alg"] == "HS256"
    assert hs["jwk"]["kty"] == "oct"
    # A thief's key: a valid proof, but not of the key the token names.
    wrong = _proof_of(ctx, "dpop-wrong-key")
    wrong_jwk = _proof_parts(wrong)[0]["jwk"]
    assert thumbprint(wrong_jwk) != ctx.key.jkt
    jwt.decode(wrong, jwt.PyJWK(wrong_jwk).key, algorithms=["ES256"])
    swapped = _proof_of(ctx, "dpop-jwk-swapped")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(swapped, jwt.PyJWK(ctx.key.public_jwk).key, algorithms=["ES256"])


def test_expectations_by_mode() -> None:
    unbound = DPOP_BY_NAME["dpop-bearer-unbound"]
    assert unbound.expected("optional") == frozenset({200})
    assert unbound.expected("required") == REFUSED
    assert DPOP_BY_NAME["dpop-bound-as-bearer"].expected("optional") == REFUSED


def test_every_dpop_case_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "suites.md").read_text()
    assert [a.name for a in DPOP_ATTACKS if f"| `{a.name}` |" not in doc] == []


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        env={"HARNESS_HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
        timeout=60,
    )


def test_cli_mints_bound_tokens_and_makes_proofs(tmp_path: Path) -> None:
    key_file = tmp_path / "client.json"
    minted = _cli("mint-token", "--sub", "u1", "--dpop-key", str(key_file), home=tmp_path)
    assert minted.returncode == 0, minted.stderr
    key = DpopKey.load(key_file)
    assert key.jkt in minted.stderr
    token = minted.stdout.strip()
    assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {"jkt": key.jkt}

    by_jkt = _cli("mint-token", "--sub", "u1", "--dpop-jkt", "abc", home=tmp_path)
    claims = jwt.decode(by_jkt.stdout.strip(), options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": "abc"}

    made = _cli(
        "dpop-proof",
        "--key",
        str(key_file),
        "--method",
        "patch",
        "--url",
        f"{URL}/t1?x=1",
        "--token",
        token,
        home=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    proof = made.stdout.strip()
    verified = jwt.decode(proof, jwt.PyJWK(key.public_jwk).key, algorithms=["ES256"])
    assert (verified["htm"], verified["htu"]) == ("PATCH", f"{URL}/t1")
    assert verified["ath"] == access_token_hash(token)


@pytest.mark.parametrize(
    "args",
    [
        ("mint-token", "--sub", "u", "--dpop-key", "k.json", "--dpop-jkt", "abc"),
        ("dpop-proof", "--key", "missing.json", "--url", URL),
        ("dpop-proof", "--url", URL),
    ],
)
def test_cli_dpop_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = _cli(*args, home=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
