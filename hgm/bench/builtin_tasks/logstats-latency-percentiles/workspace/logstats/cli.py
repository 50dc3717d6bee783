import argparse
import sys

from logstats.parse import parse_log
from logstats.report import route_table
from logstats.stats import format_histogram, histogram


def main(argv=None):
    parser = argparse.ArgumentParser(prog="logstats")
    parser.add_argument("logfile")
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--histogram", action="store_true")
    args = parser.parse_args(argv)
    with open(args.logfile, encoding="utf-8") as f:
        requests, skipped = parse_log(f.read())
    print(route_table(requests, args.min_count))
    if args.histogram:
        print()
        print(format_histogram(histogram(r.ms for r in requests)))
    if skipped:
        print(f"\n({skipped} lines skipped)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
