"""The published request schemas say exactly what the API accepts (generated clients and
schema-driven fuzzers judge the API by them)."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from todo_api.app import create_app
from todo_api.models import TITLE_MAX
from todo_api.openapi import _PLACEHOLDER
from todo_api.schemas import TITLE_TRIMMED, TaskCreate, TaskPatch

SAMPLES = [
    "",
    " ",
    "   ",
    "\t\n\r",
    "\u3000",
    "\x1c\x1d\x1e\x1f",
    "\x85\xa0",
    "\u2028",
    "\ufeff",  # not whitespace to Python: a title of its own
    "\u200b",
    " a ",
    "a",
    "a\x00",
    "\x00",
    "x" * TITLE_MAX,
    "x" * (TITLE_MAX + 1),
    " " + "x" * (TITLE_MAX - 1),
    " " + "x" * TITLE_MAX,
    "e\u0301",
]


@functools.cache
def openapi_document() -> dict[str, Any]:
    return create_app(_PLACEHOLDER).openapi()


def published_title_schema(model: str) -> dict[str, Any]:
    document = openapi_document()
    title: dict[str, Any] = document["components"]["schemas"][model]["properties"]["title"]
    if "anyOf" in title:  # an optional field: the string member carries the rule
        title = next(member for member in title["anyOf"] if member.get("type") == "string")
    return title


def schema_accepts(schema: dict[str, Any], value: str) -> bool:
    """JSON Schema's string keywords, with Python's regex engine (as Schemathesis uses)."""
    return (
        schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", sys.maxsize)
        and re.search(schema["pattern"], value) is not None
    )


def api_accepts(value: str) -> bool:
    try:
        TaskCreate(title=value)
    except ValidationError:
        return False
    return True


def test_trimmed_characters_are_exactly_pythons_whitespace() -> None:
    whitespace = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
    assert whitespace == TITLE_TRIMMED


@pytest.mark.parametrize("model", ["TaskCreate", "TaskReplace", "TaskPatch"])
@pytest.mark.parametrize("value", SAMPLES, ids=ascii)
def test_published_title_rule_is_the_api_rule(model: str, value: str) -> None:
    assert schema_accepts(published_title_schema(model), value) == api_accepts(value)


# Strings are Unicode text: a lone surrogate (JSON can escape one) is refused for any field
# as undecodable before any rule applies, so the rule is compared on text without them.
TEXT = st.characters(codec="utf-8")  # UTF-8 has no lone surrogates


@settings(max_examples=500, deadline=None, database=None)
@given(
    value=st.text(st.one_of(st.sampled_from(TITLE_TRIMMED + "\x00"), TEXT), max_size=TITLE_MAX + 5)
)
def test_published_title_rule_is_the_api_rule_for_any_text(value: str) -> None:
    schema = published_title_schema("TaskCreate")
    assert schema_accepts(schema, value) == api_accepts(value)


def test_published_title_pattern_means_the_same_in_ecma_262() -> None:
    """Browsers and generated TypeScript clients read the pattern as ECMA-262 does."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    pattern = published_title_schema("TaskCreate")["pattern"]
    script = (
        "const [pattern, samples] = JSON.parse(process.argv[1]);"
        "const re = new RegExp(pattern, 'u');"
        "console.log(JSON.stringify(samples.map((s) => re.test(s))));"
    )
    done = subprocess.run(
        [node, "-e", script, json.dumps([pattern, SAMPLES])],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == [re.search(pattern, s) is not None for s in SAMPLES]


def test_stored_title_is_trimmed_and_patch_follows_the_same_rule() -> None:
    assert TaskCreate(title="\u3000 tidy \t").title == "tidy"
    assert TaskPatch(title=" x ").title == "x"
    with pytest.raises(ValidationError):
        TaskPatch(title="\u2028")


def test_a_lone_surrogate_is_refused_in_any_string_field() -> None:
    for field in ("title", "description"):
        body = {"title": "ok", field: "a\ud800"}
        with pytest.raises(ValidationError):
            TaskCreate.model_validate_json(json.dumps(body))
