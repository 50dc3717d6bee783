import unittest

from cliargs import Parser, UsageError


def make_parser():
    parser = Parser("pack", "Pack files.")
    parser.add_option("output", short="o", kind="value")
    parser.add_option("level", short="l", kind="value", choices=["1", "5", "9"])
    parser.add_option("verbose", short="v", kind="count")
    parser.add_option("quiet", short="q", kind="flag")
    parser.add_option("exclude", short="x", kind="multi")
    parser.add_option("force", kind="flag")
    parser.add_positional("files", many=True, optional=True)
    return parser


def parse(*argv):
    return make_parser().parse(list(argv))


class LongEqualsTest(unittest.TestCase):
    def test_value_after_equals(self):
        args = parse("--output=out.tar", "--exclude=*.pyc", "--exclude=a=b", "f1")
        self.assertEqual(args.output, "out.tar")
        self.assertEqual(args.exclude, ["*.pyc", "a=b"])
        self.assertEqual(args.files, ["f1"])

    def test_empty_value(self):
        self.assertEqual(parse("--output=").output, "")

    def test_choices_checked(self):
        self.assertEqual(parse("--level=9").level, "9")
        with self.assertRaises(UsageError):
            parse("--level=7")

    def test_flag_with_value_rejected(self):
        with self.assertRaises(UsageError):
            parse("--force=yes")

    def test_unknown_long_option(self):
        with self.assertRaises(UsageError):
            parse("--colour=red")


class ShortFormsTest(unittest.TestCase):
    def test_attached_value(self):
        args = parse("-oout.tar", "-x*.log")
        self.assertEqual((args.output, args.exclude), ("out.tar", ["*.log"]))

    def test_grouped_flags_and_counts(self):
        args = parse("-vvq", "-v")
        self.assertEqual((args.verbose, args.quiet), (3, True))

    def test_group_ending_with_value_option(self):
        args = parse("-vqo", "out.tar", "a")
        self.assertEqual((args.verbose, args.quiet, args.output, args.files), (1, True, "out.tar", ["a"]))
        args = parse("-vol5", "b")
        self.assertEqual((args.verbose, args.output, args.level, args.files), (1, "l5", None, ["b"]))

    def test_missing_value_at_end(self):
        with self.assertRaises(UsageError):
            parse("-vo")

    def test_unknown_in_group(self):
        with self.assertRaises(UsageError):
            parse("-vz")


class DoubleDashTest(unittest.TestCase):
    def test_everything_after_is_positional(self):
        args = parse("-v", "--", "-q", "--force", "--", "x")
        self.assertEqual(args.verbose, 1)
        self.assertFalse(args.quiet)
        self.assertFalse(args.force)
        self.assertEqual(args.files, ["-q", "--force", "--", "x"])

    def test_old_spellings_still_work(self):
        args = parse("-o", "a.tar", "--level", "5", "-v", "--force", "-3", "file")
        self.assertEqual((args.output, args.level, args.verbose, args.force, args.files),
                         ("a.tar", "5", 1, True, ["-3", "file"]))


if __name__ == "__main__":
    unittest.main()
