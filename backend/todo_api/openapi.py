"""`python -m todo_api.openapi`: print the OpenAPI document (no environment needed)."""

from __future__ import annotations

import json
import sys

from todo_api.app import create_app
from todo_api.settings import Settings

# The document does not depend on these values; constructing (not reading the env)
# keeps the command independent of whatever the caller's environment holds.
_PLACEHOLDER = Settings.model_construct(
    database_url="sqlite://",
    jwks_url="http://127.0.0.1/jwks",
    jwt_issuer="http://localhost:3000",
    jwt_audience="http://localhost:3000",
    migrate_on_start=False,
)


def main() -> None:
    document = create_app(_PLACEHOLDER).openapi()
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
