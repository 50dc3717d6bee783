from pkgtool.resolver import install_order, resolve


def plan(requirements, index, installed=None):
    """Steps to get the requirements installed: ('install'|'upgrade'|'keep', name, version),
    in install order. ``installed`` maps names to version strings already present."""
    installed = installed or {}
    resolution = resolve(requirements, index)
    steps = []
    for name in install_order(resolution, index):
        version = str(resolution.versions[name])
        current = installed.get(name)
        if current is None:
            steps.append(("install", name, version))
        elif current != version:
            steps.append(("upgrade", name, version))
        else:
            steps.append(("keep", name, version))
    return steps
