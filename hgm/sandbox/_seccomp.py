"""A small seccomp filter for the local backend's bubblewrap sandbox (``bwrap --seccomp``).

It refuses (EPERM) the system calls that open the kernel surface most used by exploits and
that no coding task needs, much as Docker's default profile does: kernel keyrings, eBPF,
perf events, userfaultfd, io_uring, kexec, module loading, and file handles. Everything else
is allowed, for the machine's own ABI only (a 32-bit program gets EPERM for every call). The
program is classic BPF over ``struct seccomp_data`` (nr at offset 0, arch at 4), built here
for x86_64 and aarch64; on other architectures there is no filter.
"""

from __future__ import annotations

import errno
import platform
import struct

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000  # SECCOMP_RET_ALLOW
_ERRNO = 0x00050000  # SECCOMP_RET_ERRNO
_X32_BIT = 0x40000000

# (audit arch, {name: number}) per machine.
_TABLES = {
    "x86_64": (0xC000003E, {
        "add_key": 248, "request_key": 249, "keyctl": 250, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "open_by_handle_at": 304,
    }),
    "aarch64": (0xC00000B7, {
        "add_key": 217, "request_key": 218, "keyctl": 219, "bpf": 280, "perf_event_open": 241,
        "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "open_by_handle_at": 265,
    }),
}  # fmt: skip

BLOCKED = tuple(sorted(_TABLES["x86_64"][1]))
"""The system calls the filter refuses."""


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (default: this one), or None where there is none."""
    table = _TABLES.get(machine or platform.machine())
    if table is None:
        return None
    arch, numbers = table
    deny = _op(_RET_K, _ERRNO | errno.EPERM)
    allow = _op(_RET_K, _ALLOW)
    # Another ABI (i386 programs on x86_64) is refused outright: its numbers differ.
    body = [_op(_LD_W_ABS, 4), _op(_JEQ_K, arch, jt=1), deny, _op(_LD_W_ABS, 0)]
    checks = sorted(numbers.values())
    if machine == "x86_64" or (machine is None and platform.machine() == "x86_64"):
        checks = [_X32_BIT, *checks]  # the x32 ABI: the same calls under other numbers
    # Each check jumps over the remaining checks and the allow, to the deny at the end.
    for i, number in enumerate(checks):
        left = len(checks) - i - 1
        code = _JGE_K if number == _X32_BIT else _JEQ_K
        body.append(_op(code, number, jt=left + 1))
    return b"".join([*body, allow, deny])
