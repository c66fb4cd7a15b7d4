"""ASGI entry point `todo_api.main:app`, configured from the environment only."""

from __future__ import annotations

import os

from fastapi import FastAPI

from todo_api.app import create_app
from todo_api.gc_tuning import tune_for_serving
from todo_api.logs import configure_logging, logger
from todo_api.settings import PROXY_TRUST_VARIABLE, load_settings


def load_app() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.log_level)
    if PROXY_TRUST_VARIABLE not in os.environ:
        # uvicorn, not this app, applies X-Forwarded-For, and unset it trusts loopback: any
        # local process could then write the client address of audit lines.
        logger.warning(
            "%s is not set: uvicorn trusts X-Forwarded-For from 127.0.0.1 and ::1; set it to "
            "the proxy's address, or to an empty value to trust no proxy",
            PROXY_TRUST_VARIABLE,
        )
    return create_app(settings)


app = load_app()
tune_for_serving()
