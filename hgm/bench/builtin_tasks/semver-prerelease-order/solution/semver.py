"""Parse and compare Semantic Versioning 2.0.0 version strings."""

import functools
import re
from dataclasses import dataclass

_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple = ()
    build: tuple = ()

    def __str__(self):
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def parse(text):
    """Parse `text` into a Version; raise ValueError if it is not valid SemVer."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"not a semantic version: {text!r}")
    major, minor, patch, pre, build = match.groups()
    return Version(
        int(major),
        int(minor),
        int(patch),
        tuple(pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )


def _cmp(a, b):
    return (a > b) - (a < b)


def _identifier_key(identifier):
    # Numeric identifiers sort before alphanumeric ones, and among themselves by value.
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


def _compare_prerelease(a, b):
    # A release (no pre-release identifiers) is higher than any of its pre-releases.
    if not a or not b:
        return _cmp(not a, not b)
    for x, y in zip(a, b):
        result = _cmp(_identifier_key(x), _identifier_key(y))
        if result:
            return result
    return _cmp(len(a), len(b))


def compare(a, b):
    """Return -1, 0 or 1 as version `a` is lower than, equal to or higher than `b`."""
    va = parse(a) if isinstance(a, str) else a
    vb = parse(b) if isinstance(b, str) else b
    core = _cmp((va.major, va.minor, va.patch), (vb.major, vb.minor, vb.patch))
    if core:
        return core
    return _compare_prerelease(va.prerelease, vb.prerelease)


def sort_versions(versions):
    """Sort version strings from lowest to highest."""
    return sorted(versions, key=functools.cmp_to_key(compare))


def latest(versions, include_prereleases=False):
    """The highest version in `versions` (pre-releases only if asked), or None."""
    candidates = [v for v in versions if include_prereleases or not parse(v).prerelease]
    return sort_versions(candidates)[-1] if candidates else None
