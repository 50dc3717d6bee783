"""SWE-bench instance images: finding one in the Docker engine, loading, pulling, reading.

An instance whose record has no hgm ``test_cmd`` runs in its official instance image: the
repository at ``/testbed``, installed in the conda environment ``testbed``. The image is, in
this order, the record's ``image`` field or one of the harness's two names for it
(:func:`hgm.bench._swebench_specs.image_names`: the published
``swebench/sweb.eval.x86_64.<id, __ as _1776_>:latest``, and ``sweb.eval.x86_64.<id>:latest``
as swebench's own image builder tags a local build). When the engine has none of them it is

1. loaded from a ``docker save`` tarball (``.tar``, ``.tar.gz``) in the folder ``images=DIR``
   that names it in its manifest;
2. else pulled from its registry (``pull=0`` turns this off);
3. else, with ``build=DIR``, a swebench 5 task repository (``tasks/<id>/Dockerfile``), built
   by swebench's own image builder (:func:`swebench.image_builder.build_instance_image`,
   which needs ``docker buildx`` and writes its logs under ``logs/image_builder``), under
   the builder's local name;

and else the benchmark does not load: a missing image is an infrastructure error naming the
image, never an agent's failure.

The task's workspace is the image's ``/testbed`` (without ``.git``), copied out once: it holds
what the image's install step built in place (compiled extensions, egg-info), which a checkout
of the base commit would lack. Mounted back at ``/testbed`` it is the image's own tree.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgm.bench._swebench_specs import TESTBED, image_names
from hgm.bench.dirbench import BenchmarkError


@dataclass(frozen=True)
class InstanceImage:
    """An image the engine has: its name and its content id (``sha256:...``)."""

    name: str
    id: str


class ImageSource:
    """Where instance images come from: the engine, ``docker save`` tarballs in ``images``,
    the registry (when ``pull``), swebench's builder on a task repository (``build``). One
    Docker connection, opened on first use."""

    def __init__(
        self, images: Path | None = None, pull: bool = True, build: Path | None = None
    ) -> None:
        for key, folder in (("images", images), ("build", build)):
            if folder is not None and not folder.is_dir():
                raise BenchmarkError(f"{key}={folder}: no such folder")
        self._folder = images
        self._pull = pull
        self._task_repo = build
        self._client: Any = None
        self._tarballs: dict[str, Path] | None = None

    def client(self) -> Any:
        if self._client is None:
            from hgm.sandbox import SandboxError
            from hgm.sandbox.image import connect

            try:
                self._client = connect()
            except SandboxError as e:
                raise BenchmarkError(f"SWE-bench instance images need Docker: {e}") from None
        return self._client

    def ensure(self, instance_id: str, named: str | None = None) -> InstanceImage:
        """The instance's image, loaded, pulled or built if the engine lacks it; a
        :class:`BenchmarkError` naming the image when it cannot be had."""
        candidates = [named] if named else list(image_names(instance_id))
        for name in candidates:
            found = self._local(name)
            if found is not None:
                return found
        tried = []
        for name in candidates:
            tarball = self._tarball_index().get(name)
            if tarball is not None:
                self._load(tarball)
                found = self._local(name)
                if found is not None:
                    return found
                tried.append(f"{tarball} did not hold {name}")
        if self._pull:
            name = candidates[0]
            problem = self._pull_image(name)
            found = self._local(name) if problem is None else None
            if found is not None:
                return found
            tried.append(f"pulling {name} failed: {problem}")
        if self._task_repo is not None and not named:
            name = candidates[1]
            problem = self._build(instance_id, name)
            found = self._local(name) if problem is None else None
            if found is not None:
                return found
            tried.append(f"building {name} failed: {problem}")
        where = f"in images={self._folder}" if self._folder else "(no images=DIR given)"
        raise BenchmarkError(
            f"instance {instance_id!r}: no Docker image {' or '.join(candidates)}: the engine "
            f"has none, no docker save tarball {where} holds one"
            + (f"; {'; '.join(tried)}" if tried else "")
            + " (pull it where a registry answers, or build it with swebench's image builder: "
            "build=TASKREPO)"
        )

    def _local(self, name: str) -> InstanceImage | None:
        import docker.errors

        try:
            image = self.client().images.get(name)
        except docker.errors.ImageNotFound:
            return None
        return InstanceImage(name=name, id=image.id)

    def _tarball_index(self) -> dict[str, Path]:
        """Image name -> the tarball in the images folder whose manifest names it."""
        if self._tarballs is None:
            self._tarballs = {}
            if self._folder is not None:
                for path in sorted(self._folder.iterdir()):
                    if path.name.endswith((".tar", ".tar.gz", ".tgz")):
                        for tag in _saved_tags(path):
                            self._tarballs.setdefault(tag, path)
        return self._tarballs

    def _load(self, tarball: Path) -> None:
        opener = gzip.open if tarball.name.endswith(("gz", "tgz")) else open
        try:
            with opener(tarball, "rb") as stream:
                self.client().images.load(stream)
        except Exception as e:  # the SDK raises APIError, requests and OS errors alike
            raise BenchmarkError(f"could not load the image tarball {tarball}: {e}") from None

    def _pull_image(self, name: str) -> str | None:
        repository, _, tag = name.rpartition(":")
        try:
            self.client().images.pull(repository, tag=tag)
        except Exception as e:  # no registry, no such image, no network: all say why
            return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return None

    def _build(self, instance_id: str, name: str) -> str | None:
        """Build the image with swebench's builder from the task repository's Dockerfile;
        None when done, else why not."""
        assert self._task_repo is not None
        dockerfile = self._task_repo / "tasks" / instance_id / "Dockerfile"
        if not dockerfile.is_file():
            return f"{dockerfile}: no such file"
        buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True)
        if buildx.returncode != 0:
            return "swebench's image builder needs docker buildx, which this machine lacks"
        from swebench.image_builder import build_instance_image, make_image_spec

        spec = make_image_spec({"instance_id": instance_id}, dockerfile.read_text(encoding="utf-8"),
                               context_dir=str(dockerfile.parent))  # fmt: skip
        if spec.name != name:
            return f"swebench's builder would tag it {spec.name}, not {name}"
        try:
            build_instance_image(spec, self.client(), None, nocache=False)
        except Exception as e:  # BuildImageError names its log file
            return f"{type(e).__name__}: {e}"
        return None

    def copy_testbed(self, image: InstanceImage, dest: Path) -> None:
        """Copy the image's /testbed, without .git, into ``dest`` (which must not exist)."""
        client = self.client()
        container = client.containers.create(image.id, command=["true"], network_disabled=True)
        try:
            bits, _ = container.get_archive(TESTBED)
            _extract(io.BufferedReader(_Chunks(bits), 1 << 20), dest)
        except Exception as e:
            raise BenchmarkError(f"could not copy {TESTBED} out of image {image.name}: {e}") from None
        finally:
            container.remove(force=True)


def _saved_tags(path: Path) -> list[str]:
    """The ``RepoTags`` a ``docker save`` tarball's manifest.json lists."""
    opener = gzip.open if path.name.endswith(("gz", "tgz")) else open
    try:
        with opener(path, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if member.name == "manifest.json":
                    data = tar.extractfile(member)
                    manifest = json.loads(data.read()) if data else []
                    return [tag for entry in manifest for tag in entry.get("RepoTags") or ()]
    except (OSError, tarfile.TarError, json.JSONDecodeError) as e:
        raise BenchmarkError(f"images: {path} is not a docker save tarball: {e}") from None
    return []


class _Chunks(io.RawIOBase):
    """A readable stream over the SDK's archive chunks, for a streaming tarfile."""

    def __init__(self, chunks) -> None:
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._chunk:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk = memoryview(chunk)
        n = min(len(buffer), len(self._chunk))
        buffer[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n


def _extract(stream: io.BufferedReader, dest: Path) -> None:
    """Extract the archive of /testbed (entries ``testbed/...``) into ``dest``, skipping .git."""
    root = Path(TESTBED).name
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not parts or parts[0] != root or (len(parts) > 1 and parts[1] == ".git"):
                continue
            member.name = str(Path(*parts[1:])) if len(parts) > 1 else "."
            if member.name == ".":
                continue
            if member.islnk():  # a hard link names its target by its archive path too
                member.linkname = str(Path(*Path(member.linkname).parts[1:]))
            # "tar": no absolute paths, nothing outside dest, no device files or setuid bits
            tar.extract(member, dest, filter="tar")
