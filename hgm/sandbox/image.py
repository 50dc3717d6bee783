"""The docker sandbox image: its recipe, the tag derived from it, and how to build it.

The recipe is the folder ``sandbox/`` (Dockerfile, packages.txt, toolchains.txt,
build-rootfs.sh). The image is tagged ``hgm-sandbox:<hash of the recipe>``: a changed recipe
gives a new tag (and a rebuild), an unchanged one reuses the image already there. Two routes
build the same image:

- ``offline``: no image registry needed. build-rootfs.sh makes a Debian root filesystem with
  mmdebstrap (or debootstrap) from Debian's packages and loads it with ``docker import``; the
  Dockerfile is then built on top of it.
- ``registry``: the Dockerfile on the official Python image, installing the packages with apt.

``auto`` takes ``registry`` when the Python base image is already present, else ``offline``
when mmdebstrap or debootstrap is installed, else ``registry`` (which pulls the base). The
toolchains image takes ``offline`` whenever mmdebstrap is there: its Go comes from
bookworm-backports (:data:`TOOLCHAINS_SUITES`), which only that route adds to the sources.

    python -m hgm.sandbox.image [--toolchains] [--route auto|offline|registry] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgm.sandbox import SandboxError

log = logging.getLogger(__name__)

REPOSITORY = "hgm-sandbox"
BASE_REPOSITORY = "hgm-sandbox-base"
PYTHON_BASE = "python:3.12-slim-bookworm"
"""The official image the registry route starts from."""
ROUTES = ("auto", "offline", "registry")
RECIPE_FILES = ("Dockerfile", "build-rootfs.sh", "packages.txt")
TOOLCHAINS_FILE = "toolchains.txt"
TOOLCHAINS_DIR = "toolchains"
"""The toolchains layer (Dockerfile, npm lock file), built on top of the plain recipe."""
TOOLCHAINS_SUITES = ("bookworm-backports",)
"""Debian suites added to the sources when the toolchains image is built (Go 1.23)."""
_DEBIAN_MIRROR = "http://deb.debian.org/debian"
# On the registry route the official image brings Python; Debian's would be a second copy.
_FROM_PYTHON_BASE = frozenset({"python3", "python-is-python3"})
_ROOTFS_TIMEOUT_S = 1800
_build_lock = threading.Lock()


@dataclass(frozen=True)
class ImageBuild:
    """What :func:`build_image` did."""

    tag: str
    route: str
    """``offline``, ``registry``, or ``reused`` when the image was already there."""
    duration_s: float


def recipe_dir() -> Path:
    """The folder holding the recipe: packaged with hgm, or the checkout's ``sandbox/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "recipe", here.parents[1] / "sandbox"):
        if (candidate / "Dockerfile").is_file():
            return candidate
    raise SandboxError(
        "the sandbox image recipe (sandbox/Dockerfile) is missing from this installation"
    )


def read_packages(path: Path) -> list[str]:
    """Package names from a list file: one per line, ``#`` starts a comment."""
    names = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def recipe_hash(folder: Path | None = None, *, toolchains: bool = False) -> str:
    """A sha256 over every file that shapes the image (the README does not)."""
    folder = folder or recipe_dir()
    digest = hashlib.sha256()
    names = list(RECIPE_FILES)
    if toolchains:
        names.append(TOOLCHAINS_FILE)
        layer = folder / TOOLCHAINS_DIR
        names += sorted(
            p.relative_to(folder).as_posix()
            for p in layer.rglob("*")
            if p.is_file() and "node_modules" not in p.relative_to(layer).parts
        )
    for name in names:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    digest.update(b"toolchains=%d" % toolchains)
    return digest.hexdigest()


def image_tag(*, toolchains: bool = False, folder: Path | None = None) -> str:
    """The tag of the image this recipe builds, e.g. ``hgm-sandbox:3f2a...``."""
    return f"{REPOSITORY}:{recipe_hash(folder, toolchains=toolchains)[:16]}"


def packages(*, toolchains: bool = False, folder: Path | None = None) -> list[str]:
    """The Debian packages of the image (the offline route installs all of them)."""
    folder = folder or recipe_dir()
    names = read_packages(folder / "packages.txt")
    if toolchains:
        names += read_packages(folder / TOOLCHAINS_FILE)
    return names


def connect(timeout_s: float = 60) -> Any:
    """A docker SDK client that has answered a ping; SandboxError saying what to do if not."""
    try:
        import docker
    except ImportError as exc:
        raise SandboxError(
            "the docker sandbox needs the docker Python package: pip install 'hgm[docker]'"
        ) from exc
    try:
        client = docker.from_env(timeout=int(timeout_s), max_pool_size=64)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests and OS errors alike
        raise SandboxError(
            f"no Docker engine answers ({exc}); start one (scripts/ensure-docker.sh, or "
            "`make setup`), or use --sandbox local"
        ) from exc
    return client


def engine_problem() -> str | None:
    """None if a Docker engine answers through the SDK, else why not and what to do."""
    try:
        client = connect(timeout_s=10)
    except SandboxError as exc:
        return str(exc)
    client.close()
    return None


def image_exists(client: Any, tag: str) -> bool:
    """True if the engine has an image called ``tag``."""
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_image(
    *,
    toolchains: bool = False,
    route: str = "auto",
    force: bool = False,
    client: Any = None,
) -> ImageBuild:
    """Build the sandbox image unless an image with the recipe's tag already exists.

    ``force`` rebuilds even then. Raises SandboxError if no engine answers or the build fails.
    """
    if route not in ROUTES:
        raise ValueError(f"route must be one of {', '.join(ROUTES)}, not {route!r}")
    client = client or connect()
    folder = recipe_dir()
    tag = image_tag(toolchains=toolchains, folder=folder)
    start = time.monotonic()
    with _build_lock:
        if not force and image_exists(client, tag):
            return ImageBuild(tag, "reused", time.monotonic() - start)
        chosen = _pick_route(client, toolchains) if route == "auto" else route
        wanted = packages(toolchains=toolchains, folder=folder)
        log.info("building the sandbox image %s (%s route)", tag, chosen)
        if chosen == "offline":
            base = f"{BASE_REPOSITORY}:{tag.partition(':')[2]}"
            _build_rootfs(folder, base, wanted, TOOLCHAINS_SUITES if toolchains else ())
            args = {"BASE": base, "PACKAGES": ""}
        else:
            missing = [p for p in wanted if p not in _FROM_PYTHON_BASE]
            args = {"BASE": PYTHON_BASE, "PACKAGES": " ".join(missing)}
        if not toolchains:
            _docker_build(client, folder, tag, args)
        else:
            stage = f"{BASE_REPOSITORY}:{tag.partition(':')[2]}-stage"
            _docker_build(client, folder, stage, args)
            _build_toolchains_layer(client, folder / TOOLCHAINS_DIR, stage, tag)
    return ImageBuild(tag, chosen, time.monotonic() - start)


def ensure_image(client: Any, *, toolchains: bool = False, build: bool = True) -> str:
    """The recipe's tag, building the image first if it is missing and ``build`` allows."""
    tag = image_tag(toolchains=toolchains)
    if image_exists(client, tag):
        return tag
    if not build:
        raise SandboxError(f"the sandbox image {tag} is missing; build it: hgm sandbox build")
    return build_image(toolchains=toolchains, client=client).tag


def _pick_route(client: Any, toolchains: bool = False) -> str:
    # The toolchains' Go comes from bookworm-backports, which only the offline route adds.
    if toolchains and shutil.which("mmdebstrap"):
        return "offline"
    if image_exists(client, PYTHON_BASE):
        return "registry"
    if shutil.which("mmdebstrap") or shutil.which("debootstrap"):
        return "offline"
    return "registry"


def _build_rootfs(
    folder: Path, base: str, names: list[str], extra_suites: tuple[str, ...] = ()
) -> None:
    script = folder / "build-rootfs.sh"
    env = dict(os.environ)
    if extra_suites:
        # mmdebstrap takes a "deb ..." line as its mirror; one per suite, on separate lines.
        mirror = env.get("HGM_DEBIAN_MIRROR") or _DEBIAN_MIRROR
        suite = env.get("HGM_DEBIAN_SUITE") or "bookworm"
        env["HGM_DEBIAN_MIRROR"] = "\n".join(
            f"deb {mirror} {s} main" for s in (suite, *extra_suites)
        )
    try:
        done = subprocess.run(
            ["bash", str(script), base, *names],
            capture_output=True,
            text=True,
            timeout=_ROOTFS_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"building the root filesystem failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SandboxError(f"building the root filesystem failed ({script}):\n{tail}")


def _build_toolchains_layer(client: Any, layer: Path, stage: str, tag: str) -> None:
    """Build ``layer``'s Dockerfile on ``stage`` as ``tag``, with jest's node_modules
    installed on the host by ``npm ci`` from the pinned lock file (the sandbox has no
    registry, and the image build needs none)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SandboxError(
            "building the toolchains image needs npm on this host (apt-get install npm): "
            "it installs jest from toolchains/node/package-lock.json"
        )
    with tempfile.TemporaryDirectory(prefix="hgm-toolchains-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(layer, context, ignore=shutil.ignore_patterns("node_modules"))
        try:
            done = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=context / "node",
                capture_output=True,
                text=True,
                timeout=_ROOTFS_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxError(f"npm ci for the toolchains image failed: {exc}") from exc
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-10:])
            raise SandboxError(f"npm ci for the toolchains image failed:\n{tail}")
        _docker_build(client, context, tag, {"BASE": stage})


def _docker_build(client: Any, folder: Path, tag: str, args: dict[str, str]) -> None:
    import docker.errors

    try:
        client.images.build(
            path=str(folder),
            tag=tag,
            buildargs=args,
            rm=True,
            forcerm=True,
            labels={"hgm.sandbox.recipe": tag.partition(":")[2]},
        )
    except docker.errors.BuildError as exc:
        lines = [str(item.get("stream") or item.get("error") or "") for item in exc.build_log]
        tail = "".join(lines)[-2000:]
        raise SandboxError(f"docker build of {tag} failed: {exc}\n{tail}") from exc
    except docker.errors.APIError as exc:
        raise SandboxError(f"docker build of {tag} failed: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build (or reuse) the image and print its tag."""
    parser = argparse.ArgumentParser(description="Build the hgm sandbox image.")
    parser.add_argument("--toolchains", action="store_true", help="add node, go, rust, java, g++")
    parser.add_argument("--route", choices=ROUTES, default="auto")
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        built = build_image(toolchains=args.toolchains, route=args.route, force=args.force)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    how = "already built" if built.route == "reused" else f"built ({built.route} route)"
    print(f"{built.tag}  {how} in {built.duration_s:.1f}s", file=sys.stderr)
    print(built.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
