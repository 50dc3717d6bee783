import re
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_CONSTRAINT = re.compile(r"^(>=|<=|==|!=|>|<|~=)?\s*([\d.]+)$")


@total_ordering
class Version:
    def __init__(self, text):
        match = _VERSION.match(text.strip())
        if not match:
            raise ValueError(f"bad version {text!r}")
        self.parts = tuple(int(p or 0) for p in match.groups())
        self.text = text.strip()

    def __eq__(self, other):
        return self.parts == other.parts

    def __lt__(self, other):
        return self.parts < other.parts

    def __hash__(self):
        return hash(self.parts)

    def __repr__(self):
        return f"Version({self.text!r})"

    def __str__(self):
        return self.text


def _compatible(version, base):
    """~=1.4 means >=1.4,<2; ~=1.4.2 means >=1.4.2,<1.5."""
    depth = len(base.text.split(".")) - 1
    upper = list(base.parts[:max(depth, 1)])
    upper[-1] += 1
    return version >= base and version.parts[:len(upper)] < tuple(upper)


def satisfies(version, spec):
    """Whether ``version`` meets a comma-separated spec such as '>=1.2,<2'."""
    version = Version(version) if isinstance(version, str) else version
    for item in filter(None, (s.strip() for s in spec.split(","))):
        match = _CONSTRAINT.match(item)
        if not match:
            raise ValueError(f"bad constraint {item!r}")
        op, base = match.group(1) or "==", Version(match.group(2))
        ok = {
            ">=": version >= base, "<=": version <= base, ">": version > base,
            "<": version < base, "==": version == base, "!=": version != base,
            "~=": _compatible(version, base),
        }[op]
        if not ok:
            return False
    return True


def parse_requirement(text):
    """'name>=1.0,<2' -> ('name', '>=1.0,<2'); a bare name allows any version."""
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", text)
    if not match:
        raise ValueError(f"bad requirement {text!r}")
    return match.group(1).lower(), match.group(2).strip()
