"""A hot-reload stack says what to run when a file it cannot reload changed."""

from __future__ import annotations

from pathlib import Path

from harness.dependencies import advice, changed_since, digests


def test_lockfile_and_config_changes_are_named_with_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "frontend").mkdir()
    lock = tmp_path / "frontend" / "package-lock.json"
    lock.write_text("{}")
    (tmp_path / "frontend" / "next.config.ts").write_text("export default {};")
    recorded = digests(tmp_path)
    assert set(recorded) == {"frontend/package-lock.json", "frontend/next.config.ts"}
    assert changed_since(tmp_path, recorded) == []

    lock.write_text('{"lockfileVersion": 3}')
    (tmp_path / "requirements.lock").write_text("fastapi==1\n")
    changed = changed_since(tmp_path, recorded)
    assert changed == ["frontend/package-lock.json", "requirements.lock"]
    assert advice(changed, local=True).endswith("run `make install && make down && make dev`")
    assert advice(["frontend/next.config.ts"], local=True).endswith("run `make down && make dev`")
    assert advice(changed, local=False).endswith("run `make down && make dev`")
