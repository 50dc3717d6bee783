"""`python -m toolkit.cli slug TEXT` and `python -m toolkit.cli clamp VALUE LOW HIGH`."""

import sys

from toolkit.utils import clamp, normalize_space, slugify


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) >= 2 and args[0] == "slug":
        print(slugify(normalize_space(" ".join(args[1:]))))
        return 0
    if len(args) == 4 and args[0] == "clamp":
        print(clamp(float(args[1]), float(args[2]), float(args[3])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
