"""Choose package versions that satisfy every requirement, and plan the install.

Resolution prefers the newest version of every package and backtracks when a
choice leads to a conflict. The install plan lists every chosen package after all
of the packages it depends on, directly or indirectly (ties are broken
alphabetically, so plans are reproducible); a dependency cycle cannot be
installed and is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkgtool.version import parse_requirement, satisfies


class ResolutionError(Exception):
    """No set of versions satisfies the requirements, or they cannot be installed."""


@dataclass(frozen=True)
class Resolution:
    """The chosen version of every package, and who required each package."""

    versions: dict  # name -> Version
    required_by: dict  # name -> sorted list of requirer names ("<root>" for the user)

    def __contains__(self, name):
        return name in self.versions

    def pinned(self):
        """'name==version' lines, sorted by name."""
        return [f"{name}=={self.versions[name]}" for name in sorted(self.versions)]


def _constraints_for(name, chosen, index, roots):
    specs = [spec for root_name, spec in roots if root_name == name]
    for other, version in chosen.items():
        for requirement in index.requirements(other, version):
            req_name, spec = parse_requirement(requirement)
            if req_name == name:
                specs.append(spec)
    return specs


def _pending(chosen, index, roots):
    """Names required by the roots or by chosen packages but not chosen yet, sorted."""
    needed = {name for name, _ in roots}
    for name, version in chosen.items():
        needed.update(parse_requirement(r)[0] for r in index.requirements(name, version))
    return sorted(needed - set(chosen))


def _consistent(chosen, index, roots):
    """Whether every chosen version satisfies every constraint on it."""
    for name, version in chosen.items():
        for spec in _constraints_for(name, chosen, index, roots):
            if not satisfies(version, spec):
                return False
    return True


def _search(chosen, index, roots, budget):
    if budget[0] <= 0:
        raise ResolutionError("resolution is taking too long; loosen the requirements")
    budget[0] -= 1
    pending = _pending(chosen, index, roots)
    if not pending:
        return chosen
    name = pending[0]
    candidates = index.versions(name)
    if not candidates:
        raise ResolutionError(f"no package called {name!r}")
    for version in candidates:
        attempt = {**chosen, name: version}
        if _consistent(attempt, index, roots):
            result = _search(attempt, index, roots, budget)
            if result is not None:
                return result
    return None


def resolve(requirements, index, max_steps=10_000):
    """A Resolution for the user's requirement strings."""
    roots = [parse_requirement(r) for r in requirements]
    chosen = _search({}, index, roots, [max_steps])
    if chosen is None:
        wanted = ", ".join(requirements)
        raise ResolutionError(f"no versions satisfy: {wanted}")
    required_by = {name: set() for name in chosen}
    for name, _ in roots:
        required_by[name].add("<root>")
    for name, version in chosen.items():
        for requirement in index.requirements(name, version):
            required_by[parse_requirement(requirement)[0]].add(name)
    return Resolution(chosen, {n: sorted(r) for n, r in required_by.items()})


def dependencies(resolution, index, name):
    """The direct dependencies of a chosen package, sorted."""
    version = resolution.versions[name]
    return sorted({parse_requirement(r)[0] for r in index.requirements(name, version)})


def install_order(resolution, index):
    """The names of the chosen packages in the order to install them."""
    roots = sorted(n for n, by in resolution.required_by.items() if "<root>" in by)
    level = {name: 0 for name in roots}
    queue = list(roots)
    while queue:
        name = queue.pop(0)
        for dep in dependencies(resolution, index, name):
            if dep not in level:
                level[dep] = level[name] + 1
                queue.append(dep)
    return sorted(level, key=lambda name: (-level[name], name))


def why(resolution, name):
    """Chains from the user's requirements down to ``name``, e.g.
    ['<root> -> app -> http -> certs']."""
    if name not in resolution:
        raise KeyError(name)
    chains = []

    def walk(current, path):
        for parent in resolution.required_by[current]:
            if parent == "<root>":
                chains.append(" -> ".join(["<root>", *reversed(path)]))
            elif parent not in path:
                walk(parent, [*path, parent])

    walk(name, [name])
    return sorted(chains)


def lockfile(resolution, index):
    """The lock file text: pinned versions in install order with their requirers."""
    lines = ["# generated by pkgtool; do not edit"]
    for name in install_order(resolution, index):
        by = ", ".join(resolution.required_by[name])
        lines.append(f"{name}=={resolution.versions[name]}  # required by {by}")
    return "\n".join(lines) + "\n"
