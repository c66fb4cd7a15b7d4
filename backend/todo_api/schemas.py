"""Request and response bodies of the task API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from todo_api.models import DESCRIPTION_MAX, TITLE_MAX

# NUL is rejected up front: PostgreSQL text cannot hold it, so it would otherwise fail late.
_NO_NUL = r"^[^\x00]*$"

# What a title is trimmed of: exactly the characters for which Python's str.isspace() holds.
TITLE_TRIMMED = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The published rule: some character that survives trimming, and no NUL anywhere. The set
# is spelled out as \uXXXX escapes, which Python's re, Rust's regex and ECMA-262 read alike
# (their \s differ), so a generated client, the JSON Schema and the server agree on every
# string. maxLength applies to the title as sent; it is stored trimmed.
TITLE_PATTERN = "^[^\\x00]*[^\\x00{}][^\\x00]*$".format(
    "".join(f"\\u{ord(char):04x}" for char in TITLE_TRIMMED)
)


def _title(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    trimmed = value.strip(TITLE_TRIMMED)
    if not trimmed:
        raise ValueError("must not be empty or only whitespace")
    return trimmed


Title = Annotated[
    str,
    StringConstraints(max_length=TITLE_MAX),
    AfterValidator(_title),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": TITLE_PATTERN}
    ),
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX, pattern=_NO_NUL)]


class TaskCreate(BaseModel):
    # strict: the schema says boolean/string, so 0, "yes" or "1" are refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title
    description: Description = ""
    completed: bool = False


class TaskReplace(TaskCreate):
    """PUT: the whole task; omitted optional fields fall back to their defaults."""


class TaskPatch(BaseModel):
    """PATCH: only the fields present change; null is not a value for any of them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # None only stands for "absent"; SkipJsonSchema keeps it out of the published schema.
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    completed: bool | SkipJsonSchema[None] = None

    @field_validator("title", "description", "completed", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: str
    title: str
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    items: list[TaskRead]
    total: int
    limit: int
    offset: int


class StoredTask(TypedDict):
    """A task row as the database returns it (validated when it was written)."""

    id: uuid.UUID
    user_id: str
    title: str
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime


class StoredPage(TypedDict):
    items: list[StoredTask]
    total: int
    limit: int
    offset: int


# A page goes from rows to JSON without building a model per row: pydantic serializes the
# typed dicts exactly as it serializes TaskPage (same field types, same JSON), skipping the
# validation that was the largest per-row cost of a list page.
STORED_PAGE_JSON: TypeAdapter[StoredPage] = TypeAdapter(StoredPage)
