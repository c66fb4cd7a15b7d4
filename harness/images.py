"""Builds the stack's images from ``compose/*.Dockerfile`` and tags them by content.

Every image is tagged ``tasks-<name>:<hash>`` (and ``:latest``, which docker-compose.yml
uses). The hash covers the Dockerfile, the files the build may COPY (the build context,
filtered by the repository's ``.dockerignore`` exactly as docker filters it), the base
image and the image it is built FROM. When that tag exists nothing is built, so warm
starts cost a few ``docker image inspect`` calls.

Behind a TLS-inspecting proxy, npm and pip inside ``docker build`` fail unless they trust
the proxy's CA. The host's extra CA certificates (and its standard bundle) are copied into
``compose/certs/`` -- git-ignored, part of the build context -- which only the build stages
install; the runtime images never carry them.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ImageBuildError, UsageError
from harness.paths import REPO_ROOT
from harness.settings import settings, state_dir

BASE_IMAGE = "debian:trixie-slim"
IMAGE_PREFIX = "tasks-"
LABEL_IMAGE = "tasks-harness.image"
LABEL_HASH = "tasks-harness.hash"
CERTS_DIR = Path("compose") / "certs"

# Where distributions keep locally added CAs, and their standard bundles (first found wins).
EXTRA_CA_DIRS = (
    Path("/usr/local/share/ca-certificates"),
    Path("/etc/pki/ca-trust/source/anchors"),
)
CA_BUNDLES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),
    Path("/etc/pki/tls/certs/ca-bundle.crt"),
    Path("/etc/ssl/cert.pem"),
)
PEM_MARKER = b"-----BEGIN CERTIFICATE-----"
_BUILDING = threading.Lock()

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImageSpec:
    name: str
    # Files and directories (relative to the repository root) the Dockerfile may COPY.
    inputs: tuple[str, ...]
    # Image of this harness it is built FROM (passed as the BACKEND_IMAGE build argument).
    parent: str | None = None
    # Another image's Dockerfile, built up to this stage (the frontend's `dev` stage).
    dockerfile_of: str | None = None
    target: str | None = None

    @property
    def dockerfile(self) -> str:
        return f"compose/{self.dockerfile_of or self.name}.Dockerfile"

    @property
    def repository(self) -> str:
        return f"{IMAGE_PREFIX}{self.name}"


SPECS: dict[str, ImageSpec] = {
    "postgres": ImageSpec("postgres", ("compose/postgres-entrypoint.sh",)),
    "backend": ImageSpec("backend", ("backend",)),
    "issuer": ImageSpec(
        "issuer",
        ("harness/__init__.py", "harness/errors.py", "harness/serving.py", "harness/issuer"),
        parent="backend",
    ),
    "frontend": ImageSpec("frontend", ("frontend",)),
    # Hot reload: dependencies and `next dev`; the sources are mounted from the working tree.
    "frontend-dev": ImageSpec(
        "frontend-dev", ("frontend",), dockerfile_of="frontend", target="dev"
    ),
}
BUILD_ORDER = ("postgres", "backend", "issuer", "frontend", "frontend-dev")
# What a production stack runs (`frontend-dev` only for hot reload).
STACK_IMAGES = ("postgres", "backend", "issuer", "frontend")


# --- the build context -----------------------------------------------------------------


def ignore_patterns(root: Path) -> list[str]:
    """The root ``.dockerignore``'s patterns, read as docker reads them."""
    path = root / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root: Path, inputs: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """Files under ``inputs`` that a build with context ``root`` can see, sorted. The docker
    SDK's own .dockerignore matching decides, so the hash sees what docker sends."""
    from docker.utils.build import exclude_paths

    visible = exclude_paths(str(root), list(patterns), dockerfile=".dockerignore")
    prefixes = tuple(entry.rstrip("/") for entry in inputs)
    return sorted(
        rel
        for rel in visible
        if any(rel == p or rel.startswith(f"{p}/") for p in prefixes) and (root / rel).is_file()
    )


def content_hash(
    spec: ImageSpec,
    root: Path,
    *,
    base_id: str,
    parent_ref: str | None = None,
    patterns: Sequence[str] | None = None,
) -> str:
    """A short hash of everything that determines the image (certificates excluded: they
    only let the build reach registries and never reach the runtime image)."""
    patterns = ignore_patterns(root) if patterns is None else patterns
    digest = hashlib.sha256()
    digest.update(f"{spec.name}\0{spec.target}\0{base_id}\0{parent_ref or ''}\0".encode())
    for rel in [spec.dockerfile, *context_files(root, spec.inputs, patterns)]:
        path = root / rel
        if not path.exists():
            digest.update(f"missing {rel}\0".encode())
            continue
        executable = os.access(path, os.X_OK)
        file_digest = hashlib.sha256(path.read_bytes()).hexdigest()
        digest.update(f"{rel}\0{int(executable)}\0{file_digest}\0".encode())
    return digest.hexdigest()[:16]


# --- CA certificates -----------------------------------------------------------------


def _is_pem(path: Path) -> bool:
    try:
        return PEM_MARKER in path.read_bytes()
    except OSError:
        return False


def detect_ca_certificates(
    *,
    extra_dirs: Sequence[Path] = EXTRA_CA_DIRS,
    bundles: Sequence[Path] = CA_BUNDLES,
    configured: Sequence[Path] | None = None,
) -> list[Path]:
    """PEM files the build stages should trust, in order: the configured ones
    (``HARNESS_CA_CERTS``, then ``NODE_EXTRA_CA_CERTS`` and ``SSL_CERT_FILE``; files or
    directories), the locally added CAs, then the first standard bundle."""
    configured = settings().ca_certs if configured is None else configured
    candidates: list[Path] = []
    for path in configured:
        candidates.extend(sorted(path.rglob("*")) if path.is_dir() else [path])
    for directory in extra_dirs:
        if directory.is_dir():
            candidates.extend(
                p for p in sorted(directory.rglob("*")) if p.suffix in (".crt", ".pem")
            )
    candidates.extend(next(([b] for b in bundles if b.is_file()), []))

    found: list[Path] = []
    seen: set[Path] = set()
    for path in candidates:
        real = path.resolve()
        if real not in seen and real.is_file() and _is_pem(real):
            seen.add(real)
            found.append(path)
    return found


def write_certs_context(certs: Sequence[Path], dest: Path) -> list[str]:
    """Copy ``certs`` into ``dest`` as ``NN-name.crt`` (the suffix update-ca-certificates
    reads), removing stale files; unchanged files are left alone for docker's layer cache."""
    dest.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for index, cert in enumerate(certs):
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", cert.stem)
        name = f"{index:02d}-{stem}.crt"
        data = cert.read_bytes()
        target = dest / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        names.append(name)
    for stale in dest.iterdir():
        if stale.name not in names:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    return names


# --- docker ----------------------------------------------------------------------------


def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise ImageBuildError("the docker CLI is not installed (needed to build images)")
    return docker


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_docker(), *args], capture_output=True, text=True, check=False)


def image_id(ref: str) -> str | None:
    done = _run("image", "inspect", "--format", "{{.Id}}", ref)
    return done.stdout.strip() if done.returncode == 0 else None


def _tail(lines: Iterable[str], count: int = 25) -> str:
    return "\n".join(list(lines)[-count:])


def local_images() -> dict[str, str]:
    """Every tagged local image, ``repository:tag`` -> id, in one docker call (warm starts
    check all tags at once instead of one inspect each)."""
    done = _run("image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}}\t{{.ID}}")
    if done.returncode != 0:
        reason = _tail(done.stderr.splitlines(), 1) or "no answer"
        raise ImageBuildError(f"Docker daemon not reachable: {reason}")
    pairs = (line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    return {ref: image for ref, image in pairs}


def ensure_base(root: Path, progress: Progress, known: Mapping[str, str]) -> str:
    """The base image's id, building it with compose/bootstrap-base when missing."""
    found = known.get(BASE_IMAGE)
    if found:
        return found
    progress(f"base: {BASE_IMAGE} missing, building it with compose/bootstrap-base")
    done = subprocess.run(
        [str(root / "compose" / "bootstrap-base")], capture_output=True, text=True, check=False
    )
    found = image_id(BASE_IMAGE)
    if done.returncode != 0 or not found:
        output = (done.stdout + done.stderr).splitlines()
        raise ImageBuildError(
            f"base image {BASE_IMAGE} could not be built (compose/bootstrap-base exit "
            f"{done.returncode}); last lines:\n{_tail(output)}"
        )
    return found


# Classic builder: "Step 3/9 : RUN npm ci"; BuildKit (plain): "#7 [build 3/9] RUN npm ci".
_STEP = re.compile(r"^(?:Step \d+/\d+ : (?P<classic>.+)|#\d+ \[(?P<stage>[^\]]+)\] (?P<kit>.+))$")


def build_image(
    spec: ImageSpec,
    ref: str,
    root: Path,
    *,
    content: str,
    parent_ref: str | None,
    progress: Progress,
) -> None:
    """``docker build --network host`` of one image; raises ImageBuildError with the failing
    step and the last lines of its output. The full log is kept under .harness/logs/."""
    cmd = [
        _docker(),
        "build",
        # A failed RUN would otherwise leave its intermediate container behind.
        "--force-rm",
        "--network",
        "host",
        "-f",
        str(root / spec.dockerfile),
        "-t",
        ref,
        "-t",
        f"{spec.repository}:latest",
        "--label",
        f"{LABEL_IMAGE}={spec.name}",
        "--label",
        f"{LABEL_HASH}={content}",
    ]
    if parent_ref:
        cmd += ["--build-arg", f"BACKEND_IMAGE={parent_ref}"]
    if spec.target:
        cmd += ["--target", spec.target]
    cmd.append(str(root))
    log_path = state_dir() / "logs" / f"build-{spec.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: collections.deque[str] = collections.deque(maxlen=40)
    step = "(start)"
    env = {**os.environ, "BUILDKIT_PROGRESS": "plain"}
    with (
        log_path.open("w", buffering=1) as log,
        subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            errors="replace",
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            text = line.rstrip()
            tail.append(text)
            match = _STEP.match(text)
            if match:
                raw = match["classic"] or f"[{match['stage']}] {match['kit']}"
                step = " ".join(raw.split())[:80]
                progress(f"{spec.name}: {step}")
        code = process.wait()
    if code != 0:
        raise ImageBuildError(
            f"image {spec.name} failed to build at step `{step}` (exit {code}); "
            f"full log {log_path}; last lines:\n{_tail(tail)}"
        )


def _prune_old_tags(spec: ImageSpec, keep: str) -> None:
    """Untag earlier content tags of this image; ones still used by a container stay."""
    done = _run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", spec.repository)
    for ref in done.stdout.split():
        if ref not in (keep, f"{spec.repository}:latest"):
            _run("image", "rm", ref)


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str
    built: bool
    seconds: float


def ensure_images(
    names: Iterable[str] = STACK_IMAGES,
    *,
    progress: Progress = lambda _: None,
    force: bool = False,
    root: Path = REPO_ROOT,
) -> dict[str, BuiltImage]:
    """Make sure the content-tagged images exist, building what is missing or changed.
    Stacks starting together in one process build one at a time."""
    with _BUILDING:
        return _ensure_images(names, progress=progress, force=force, root=root)


def _ensure_images(
    names: Iterable[str], *, progress: Progress, force: bool, root: Path
) -> dict[str, BuiltImage]:
    wanted = set(names)
    unknown = wanted - set(SPECS)
    if unknown:
        raise UsageError(f"unknown images: {', '.join(sorted(unknown))}")
    for name in list(wanted):
        parent = SPECS[name].parent
        if parent:
            wanted.add(parent)
    known = local_images()
    base_id = ensure_base(root, progress, known)
    patterns = ignore_patterns(root)
    # Written even when nothing is built, so `docker compose build` finds them too.
    certs = detect_ca_certificates()
    write_certs_context(certs, root / CERTS_DIR)
    reported = False
    result: dict[str, BuiltImage] = {}
    for name in (n for n in BUILD_ORDER if n in wanted):
        spec = SPECS[name]
        started = time.monotonic()
        parent_ref = result[spec.parent].ref if spec.parent else None
        content = content_hash(
            spec, root, base_id=base_id, parent_ref=parent_ref, patterns=patterns
        )
        ref = f"{spec.repository}:{content}"
        if not force and ref in known:
            result[name] = BuiltImage(name, ref, False, time.monotonic() - started)
            continue
        if not reported:
            progress(f"certificates: {len(certs)} host CA file(s) passed into builds")
            reported = True
        progress(f"{name}: building {ref}")
        build_image(spec, ref, root, content=content, parent_ref=parent_ref, progress=progress)
        _prune_old_tags(spec, ref)
        result[name] = BuiltImage(name, ref, True, time.monotonic() - started)
        progress(f"{name}: built {ref} in {result[name].seconds:.1f}s")
    return result


def content_refs(
    names: Iterable[str] = STACK_IMAGES,
    *,
    progress: Progress = lambda _: None,
    root: Path = REPO_ROOT,
) -> dict[str, str]:
    """The content tags ``ensure_images`` would give the images, building none of them
    (the base image is pulled or built when missing: its id is part of every hash)."""
    names = tuple(names)
    base_id = ensure_base(root, progress, local_images())
    patterns = ignore_patterns(root)
    refs: dict[str, str] = {}
    wanted = set(names) | {SPECS[n].parent for n in names if SPECS[n].parent}
    for name in (n for n in BUILD_ORDER if n in wanted):
        spec = SPECS[name]
        parent_ref = refs[spec.parent] if spec.parent else None
        content = content_hash(
            spec, root, base_id=base_id, parent_ref=parent_ref, patterns=patterns
        )
        refs[name] = f"{spec.repository}:{content}"
    return refs


def cache_key(refs: Mapping[str, str]) -> str:
    """One key for a set of images: equal keys mean identical images."""
    joined = "\n".join(sorted(refs.values()))
    return hashlib.sha256(joined.encode()).hexdigest()[:24]


def save_images(archive: Path, names: Iterable[str] = STACK_IMAGES) -> list[str]:
    """``docker save`` the stack's current images (content and ``latest`` tags) and the base
    image they were built on into one archive (shared layers stored once)."""
    refs = content_refs(names)
    known = local_images()
    missing = [ref for ref in refs.values() if ref not in known]
    if missing:
        raise ImageBuildError(f"not built yet (run `make images`): {', '.join(missing)}")
    saved = [BASE_IMAGE, *refs.values(), *(f"{SPECS[n].repository}:latest" for n in refs)]
    saved = [ref for ref in saved if ref in known]
    archive.parent.mkdir(parents=True, exist_ok=True)
    done = _run("save", "-o", str(archive), *saved)
    if done.returncode != 0:
        raise ImageBuildError(f"docker save failed: {_tail(done.stderr.splitlines(), 5)}")
    return saved


def load_images(archive: Path) -> bool:
    """``docker load`` an archive ``save_images`` wrote; False when there is none."""
    if not archive.exists():
        return False
    done = _run("load", "-q", "-i", str(archive))
    if done.returncode != 0:
        raise ImageBuildError(f"docker load failed: {_tail(done.stderr.splitlines(), 5)}")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.images [NAME ...] [--force] [--certs-only] [--key] [--save FILE]
    [--load FILE]``."""
    from rich.console import Console

    parser = argparse.ArgumentParser(
        prog="python -m harness.images", description="Build the stack's images (content-tagged)."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BUILD_ORDER)}")
    parser.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    parser.add_argument(
        "--certs-only",
        action="store_true",
        help="only write compose/certs/ (for `docker compose build`)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--key", action="store_true", help="print the images' cache key")
    cache.add_argument("--save", type=Path, metavar="FILE", help="docker save them to FILE")
    cache.add_argument("--load", type=Path, metavar="FILE", help="docker load FILE if it exists")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(SPECS)
    if unknown:
        parser.error(f"unknown image(s): {', '.join(sorted(unknown))}")
    console = Console(stderr=True)
    if args.key or args.save or args.load:
        return _cache_command(args, console)
    if args.certs_only:
        certs = detect_ca_certificates()
        write_certs_context(certs, REPO_ROOT / CERTS_DIR)
        console.print(f"{CERTS_DIR}: {len(certs)} CA file(s) from {', '.join(map(str, certs))}")
        return 0
    try:
        with console.status("images: checking") as status:

            def progress(message: str) -> None:
                status.update(f"images: {message}")
                if " built " in message or message.startswith(("certificates", "base")):
                    console.print(message)

            built = ensure_images(args.names or STACK_IMAGES, progress=progress, force=args.force)
    except ImageBuildError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 1
    for image in built.values():
        state = f"built in {image.seconds:.1f}s" if image.built else "up to date"
        console.print(f"{image.name:9} {image.ref:34} {state}", highlight=False)
    return 0


def _cache_command(args: argparse.Namespace, console: Any) -> int:
    names = args.names or STACK_IMAGES
    try:
        if args.key:
            print(cache_key(content_refs(names)))
        elif args.save:
            saved = save_images(args.save, names)
            console.print(f"images: saved {len(saved)} tags to {args.save}", highlight=False)
        else:
            loaded = load_images(args.load)
            console.print(f"images: {'loaded' if loaded else 'no archive at'} {args.load}")
    except (ImageBuildError, UsageError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
