"""A bare FastAPI app with one health route: the floor for `/healthz` in `bench/throughput.py`.

.venv/bin/uvicorn bench.bare_app:app
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="bare")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
