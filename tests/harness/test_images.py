"""Image inputs without Docker: CA certificate detection and content-hash tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import images
from harness.errors import ImageBuildError
from harness.images import (
    BASE_IMAGE,
    SPECS,
    content_hash,
    context_files,
    detect_ca_certificates,
    ignore_patterns,
    write_certs_context,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def pem(path: Path, body: bytes = PEM) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def test_detects_extra_cas_then_one_standard_bundle(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    corp = pem(extra / "corp.crt")
    nested = pem(extra / "proxy" / "egress.crt")
    (extra / "README").write_text("not a certificate")
    pem(extra / "der.crt", b"\x30\x82\x01\x0a")  # DER, not PEM: update-ca-certificates can't use it
    bundle = pem(tmp_path / "bundle.crt")
    second_bundle = pem(tmp_path / "other-bundle.crt")

    found = detect_ca_certificates(
        extra_dirs=[extra, tmp_path / "missing"], bundles=[bundle, second_bundle], configured=[]
    )

    assert found == [corp, nested, bundle]


def test_environment_certificates_come_first_and_duplicates_are_dropped(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    corp = pem(extra / "corp.crt")
    listed = pem(tmp_path / "listed" / "a.pem")

    found = detect_ca_certificates(
        extra_dirs=[extra],
        bundles=[],
        configured=[tmp_path / "listed", corp],
    )

    assert found == [listed, corp]


def test_no_certificates_anywhere_is_an_empty_list(tmp_path: Path) -> None:
    assert detect_ca_certificates(extra_dirs=[tmp_path], bundles=[], configured=[]) == []


def test_certs_context_holds_exactly_the_detected_files(tmp_path: Path) -> None:
    dest = tmp_path / "certs"
    first = pem(tmp_path / "a b.crt")
    second = pem(tmp_path / "bundle.pem", PEM * 2)
    pem(dest / "stale.crt")

    names = write_certs_context([first, second], dest)

    assert names == ["00-a_b.crt", "01-bundle.crt"]
    assert sorted(p.name for p in dest.iterdir()) == names
    assert (dest / "01-bundle.crt").read_bytes() == PEM * 2
    assert write_certs_context([], dest) == []
    assert list(dest.iterdir()) == []


def test_dockerignore_semantics(tmp_path: Path) -> None:
    """The docker SDK's matching, as the hash uses it: the last pattern wins, ``!``
    re-includes, ``**`` matches at any depth."""
    files = (
        "README.md", "harness/cli.py", "harness/issuer/keys.py", "backend/todo_api/main.py",
        "backend/tests/test_x.py", "backend/todo_api/__pycache__/main.cpython-313.pyc",
        "backend/todo.db",
    )  # fmt: skip
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    patterns = ["*", "!backend", "!harness/issuer", "backend/tests", "**/__pycache__", "**/*.db"]
    visible = context_files(tmp_path, ("backend", "harness", "README.md"), patterns)
    assert visible == ["backend/todo_api/main.py", "harness/issuer/keys.py"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "backend.Dockerfile").write_text("FROM debian:trixie-slim\n")
    (tmp_path / ".dockerignore").write_text("*\n!backend\nbackend/tests\n**/__pycache__\n")
    for rel in ("backend/todo_api/main.py", "backend/tests/test_main.py", "README.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"# {rel}\n")
    return tmp_path


def test_context_files_follow_the_dockerignore(repo: Path) -> None:
    patterns = ignore_patterns(repo)
    assert context_files(repo, ("backend",), patterns) == ["backend/todo_api/main.py"]


def test_hash_tag_changes_only_with_what_the_image_sees(repo: Path) -> None:
    spec = SPECS["backend"]

    def tag(base_id: str = "sha256:base") -> str:
        return content_hash(spec, repo, base_id=base_id)

    first = tag()
    assert len(first) == 16
    assert tag() == first

    (repo / "backend" / "tests" / "test_main.py").write_text("# ignored by the build\n")
    (repo / "README.md").write_text("outside the context\n")
    cache = repo / "backend" / "todo_api" / "__pycache__"
    cache.mkdir()
    (cache / "main.pyc").write_bytes(b"\0")
    assert tag() == first

    assert tag(base_id="sha256:other-base") != first

    source = repo / "backend" / "todo_api" / "main.py"
    source.write_text("changed\n")
    changed = tag()
    assert changed != first

    source.chmod(0o755)
    assert tag() != changed

    (repo / "compose" / "backend.Dockerfile").write_text("FROM debian:trixie-slim\nUSER app\n")
    assert tag() not in (first, changed)


def test_parent_image_is_part_of_the_hash(repo: Path) -> None:
    spec = SPECS["issuer"]
    a = content_hash(spec, repo, base_id="b", parent_ref="tasks-backend:aaa")
    b = content_hash(spec, repo, base_id="b", parent_ref="tasks-backend:bbb")
    assert a != b


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_copied_path_is_in_the_context_and_in_the_hash(name: str) -> None:
    """A COPY source outside the image's inputs would change the image without changing
    its tag; one excluded by .dockerignore would fail the build."""
    spec = SPECS[name]
    visible = set(context_files(REPO_ROOT, spec.inputs, ignore_patterns(REPO_ROOT)))
    lines = (REPO_ROOT / spec.dockerfile).read_text().splitlines()
    copies = [line.split()[1:] for line in lines if line.startswith("COPY ")]
    sources = [
        src.rstrip("/")
        for args in copies
        if not any(a.startswith("--from") for a in args)
        for src in [a for a in args if not a.startswith("--")][:-1]
    ]
    assert sources, f"{spec.dockerfile} copies nothing from the context"
    for src in sources:
        if src == "compose/certs":  # generated; deliberately outside the hash
            continue
        assert any(v == src or v.startswith(f"{src}/") for v in visible), src
        assert any(src == i or src.startswith(f"{i}/") for i in spec.inputs), src


def test_the_image_cache_saves_the_content_tags_latest_and_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make images-save`: one archive with what a shard needs to skip every build, the
    base image included (its id is part of every content hash)."""
    refs = {"backend": "tasks-backend:aaa", "issuer": "tasks-issuer:bbb"}
    known = {ref: "sha256:1" for ref in [*refs.values(), "tasks-backend:latest", BASE_IMAGE]}
    calls: list[tuple[str, ...]] = []

    def fake_run(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(images, "content_refs", lambda names: refs)
    monkeypatch.setattr(images, "local_images", lambda: known)
    monkeypatch.setattr(images, "_run", fake_run)
    archive = tmp_path / "cache" / "images.tar"

    saved = images.save_images(archive, ["backend", "issuer"])

    # tasks-issuer:latest is not there, so it is not asked for.
    assert saved == [BASE_IMAGE, "tasks-backend:aaa", "tasks-issuer:bbb", "tasks-backend:latest"]
    assert calls == [("save", "-o", str(archive), *saved)]
    assert archive.parent.is_dir()

    assert images.load_images(tmp_path / "absent.tar") is False
    archive.write_bytes(b"tar")
    assert images.load_images(archive) is True
    assert calls[-1] == ("load", "-q", "-i", str(archive))

    del known["tasks-issuer:bbb"]
    with pytest.raises(ImageBuildError, match="tasks-issuer:bbb"):
        images.save_images(archive, ["backend", "issuer"])


def test_the_cache_key_changes_with_any_tag() -> None:
    refs = {"backend": "tasks-backend:aaa", "issuer": "tasks-issuer:bbb"}
    assert images.cache_key(refs) == images.cache_key(dict(reversed(list(refs.items()))))
    assert images.cache_key(refs) != images.cache_key({**refs, "issuer": "tasks-issuer:ccc"})
