import argparse
import os
import sys

from sitegen.site import build_site, check


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sitegen")
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("source_dir")
    parser.add_argument("--out", default="site")
    args = parser.parse_args(argv)
    sources = []
    for name in sorted(os.listdir(args.source_dir)):
        if name.endswith(".wiki"):
            with open(os.path.join(args.source_dir, name), encoding="utf-8") as f:
                sources.append(f.read())
    if args.command == "check":
        problems = check(sources)
        print("\n".join(problems) or "no broken links")
        return 1 if problems else 0
    os.makedirs(args.out, exist_ok=True)
    for name, html in build_site(sources).items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(html)
    return 0


if __name__ == "__main__":
    sys.exit(main())
