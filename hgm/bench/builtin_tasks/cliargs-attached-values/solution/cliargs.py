"""A small command-line parser for our internal tools.

    parser = Parser("deploy", "Deploy a build to an environment.")
    parser.add_option("env", short="e", kind="value", choices=["staging", "prod"], required=True)
    parser.add_option("verbose", short="v", kind="count")
    parser.add_option("dry-run", kind="flag")
    parser.add_option("tag", short="t", kind="multi")
    parser.add_positional("build")
    args = parser.parse(["-e", "prod", "-v", "--tag", "a", "1234"])
    args.env, args.verbose, args.dry_run, args.tag, args.build
    # -> ("prod", 1, False, ["a"], "1234")

Option kinds:

- ``flag``: present or not (``True``/``False``);
- ``count``: how many times it was given (``-v -v`` -> 2);
- ``value``: takes one value; the last occurrence wins;
- ``multi``: takes one value per occurrence; the values are collected in a list.

Attribute names are the option names with ``-`` replaced by ``_``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

KINDS = ("flag", "count", "value", "multi")
_NUMBER = re.compile(r"^-\d+(\.\d+)?$")


class UsageError(Exception):
    """The command line does not fit the parser; the message is shown to the user."""


@dataclass(frozen=True)
class Option:
    name: str
    short: str | None = None
    kind: str = "flag"
    default: object = None
    choices: tuple | None = None
    required: bool = False
    help: str = ""

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.kind in ("value", "multi")

    def label(self) -> str:
        names = f"-{self.short}, --{self.name}" if self.short else f"    --{self.name}"
        if self.takes_value:
            names += " " + self.dest.upper()
        return names


@dataclass(frozen=True)
class Positional:
    name: str
    many: bool = False
    optional: bool = False
    help: str = ""


@dataclass
class Namespace:
    """The parsed values; one attribute per option and positional."""

    values: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


class Parser:
    def __init__(self, prog: str, description: str = "") -> None:
        self.prog = prog
        self.description = description
        self.options: list[Option] = []
        self.positionals: list[Positional] = []

    def add_option(self, name, short=None, kind="flag", default=None, choices=None,
                   required=False, help=""):
        if kind not in KINDS:
            raise ValueError(f"unknown option kind {kind!r}")
        if short is not None and len(short) != 1:
            raise ValueError("short option names are a single character")
        if any(o.name == name or (short and o.short == short) for o in self.options):
            raise ValueError(f"option {name!r} is defined twice")
        if default is None:
            default = {"flag": False, "count": 0, "multi": []}.get(kind)
        option = Option(name, short, kind, default, tuple(choices) if choices else None,
                        required, help)
        self.options.append(option)
        return option

    def add_positional(self, name, many=False, optional=False, help=""):
        if self.positionals and self.positionals[-1].many:
            raise ValueError("no positional can follow one that takes many values")
        self.positionals.append(Positional(name, many, optional, help))

    # -- help -----------------------------------------------------------------

    def usage(self) -> str:
        parts = [self.prog]
        if self.options:
            parts.append("[options]")
        for pos in self.positionals:
            word = pos.name.upper() + ("..." if pos.many else "")
            parts.append(f"[{word}]" if pos.optional else word)
        return "usage: " + " ".join(parts)

    def format_help(self, width: int = 79) -> str:
        lines = [self.usage()]
        if self.description:
            lines += ["", *textwrap.wrap(self.description, width)]
        if self.options:
            lines += ["", "options:"]
            for option in self.options:
                text = option.help
                if option.choices:
                    text += f" (one of: {', '.join(option.choices)})"
                label = "  " + option.label()
                lines.append(label if not text else f"{label:<28} {text}".rstrip())
        return "\n".join(lines)

    # -- parsing --------------------------------------------------------------

    def _long(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise UsageError(f"unknown option --{name}")

    def _short(self, char: str) -> Option:
        for option in self.options:
            if option.short == char:
                return option
        raise UsageError(f"unknown option -{char}")

    def _store(self, values: dict, option: Option, value=None) -> None:
        if option.kind == "flag":
            values[option.dest] = True
        elif option.kind == "count":
            values[option.dest] += 1
        else:
            if option.choices and value not in option.choices:
                raise UsageError(
                    f"invalid value {value!r} for --{option.name} "
                    f"(choose from {', '.join(option.choices)})"
                )
            if option.kind == "multi":
                values[option.dest] = values[option.dest] + [value]
            else:
                values[option.dest] = value

    def parse(self, argv) -> Namespace:
        """Parse ``argv`` (without the program name) or raise UsageError.

        Accepted spellings: ``--name value``, ``--name=value``, ``-x value``, ``-xvalue``,
        grouped short options (``-vq``, ``-vqo file``), and ``--`` to end the options.
        """
        values = {o.dest: o.default for o in self.options}
        seen = set()
        positionals = []
        args = list(argv)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                positionals.extend(args[i:])
                break
            if arg.startswith("--") and len(arg) > 2:
                name, eq, attached = arg[2:].partition("=")
                found = [(self._long(name), attached if eq else None)]
            elif arg.startswith("-") and len(arg) > 1 and not _NUMBER.match(arg):
                found = self._short_group(arg[1:])
            else:
                positionals.append(arg)
                continue
            for option, value in found:
                if option.takes_value and value is None:
                    if i >= len(args):
                        raise UsageError(f"option --{option.name} needs a value")
                    value = args[i]
                    i += 1
                elif not option.takes_value and value is not None:
                    raise UsageError(f"option --{option.name} takes no value")
                self._store(values, option, value)
                seen.add(option.name)
        for option in self.options:
            if option.required and option.name not in seen:
                raise UsageError(f"option --{option.name} is required")
        values.update(self._assign_positionals(positionals))
        return Namespace(values)

    def _short_group(self, chars: str) -> list:
        """(option, attached value or None) for the characters after a single ``-``.

        Every character is an option until one that takes a value: the rest of the
        word, if any, is that option's value.
        """
        found = []
        for pos, char in enumerate(chars):
            option = self._short(char)
            if option.takes_value:
                found.append((option, chars[pos + 1:] or None))
                break
            found.append((option, None))
        return found

    def _assign_positionals(self, words: list) -> dict:
        assigned = {}
        words = list(words)
        for pos in self.positionals:
            dest = pos.name.replace("-", "_")
            if pos.many:
                if not words and not pos.optional:
                    raise UsageError(f"missing {pos.name.upper()}")
                assigned[dest], words = words, []
            elif words:
                assigned[dest] = words.pop(0)
            elif pos.optional:
                assigned[dest] = None
            else:
                raise UsageError(f"missing {pos.name.upper()}")
        if words:
            raise UsageError(f"unexpected argument {words[0]!r}")
        return assigned
