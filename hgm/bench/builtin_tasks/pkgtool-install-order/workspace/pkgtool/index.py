from pkgtool.version import Version


class PackageIndex:
    """Available packages: {name: {version: [requirement, ...]}}."""

    def __init__(self, packages):
        self._packages = {
            name.lower(): {Version(v): list(reqs) for v, reqs in versions.items()}
            for name, versions in packages.items()
        }

    def names(self):
        return sorted(self._packages)

    def versions(self, name):
        """Known versions of ``name``, newest first."""
        return sorted(self._packages.get(name, {}), reverse=True)

    def requirements(self, name, version):
        return self._packages[name][version]
