import unittest

from cliargs import Parser, UsageError


def make_parser():
    parser = Parser("deploy", "Deploy a build.")
    parser.add_option("env", short="e", kind="value", choices=["staging", "prod"], required=True)
    parser.add_option("verbose", short="v", kind="count")
    parser.add_option("dry-run", kind="flag")
    parser.add_option("tag", short="t", kind="multi")
    parser.add_positional("build")
    return parser


class CliArgsTest(unittest.TestCase):
    def test_basic(self):
        args = make_parser().parse(["-e", "prod", "-v", "--tag", "a", "--dry-run", "1234"])
        self.assertEqual((args.env, args.verbose, args.dry_run, args.tag, args.build),
                         ("prod", 1, True, ["a"], "1234"))

    def test_required(self):
        with self.assertRaises(UsageError):
            make_parser().parse(["1234"])

    def test_choices(self):
        with self.assertRaises(UsageError):
            make_parser().parse(["--env", "test", "1"])

    def test_help(self):
        self.assertIn("-e, --env ENV", make_parser().format_help())


if __name__ == "__main__":
    unittest.main()
