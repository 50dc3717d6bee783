"""Read and write INI-style settings files.

    [DEFAULT]
    root = /srv/app

    [database]
    host = db.internal
    port = 5432
    options = sslmode=require,
              connect_timeout=5

- ``#`` or ``;`` at the start of a line begins a comment;
- ``key = value`` or ``key: value``; keys are case-insensitive (stored in lower case),
  section names are case-sensitive;
- an indented line continues the previous value (joined with a newline);
- keys in ``[DEFAULT]`` are visible in every section unless the section sets them.

Errors carry the line number: ``ConfigError("line 7: duplicate key 'port'")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "DEFAULT"
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_ASSIGN = re.compile(r"^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$")
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}
_MISSING = object()


class ConfigError(ValueError):
    """A settings file is malformed or a value is missing or of the wrong type."""


@dataclass
class _Entry:
    value: str
    line: int


def parse(text: str) -> "Config":
    """Parse the text of a settings file."""
    config = Config()
    section = None
    last = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0] in " \t":
            if last is None:
                raise ConfigError(f"line {number}: continuation line without a key")
            last.value += "\n" + stripped
            continue
        match = _SECTION.match(stripped)
        if match:
            section = match.group(1).strip()
            if section in config._data:
                raise ConfigError(f"line {number}: duplicate section [{section}]")
            config._data[section] = {}
            last = None
            continue
        match = _ASSIGN.match(stripped)
        if not match:
            raise ConfigError(f"line {number}: expected 'key = value', got {stripped!r}")
        if section is None:
            raise ConfigError(f"line {number}: key outside of any section")
        key, value = match.group(1).lower(), match.group(2)
        if key in config._data[section]:
            raise ConfigError(f"line {number}: duplicate key {key!r}")
        last = config._data[section][key] = _Entry(value, number)
    return config


def _quote_value(value: str) -> str:
    """Continuation lines are written indented, so that ``parse`` reads them back."""
    return "\n    ".join(value.split("\n"))


class Config:
    """The parsed settings; ``parse`` builds one, ``dump`` writes it back."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, _Entry]] = {}

    def sections(self) -> list:
        """The section names in file order, without ``DEFAULT``."""
        return [name for name in self._data if name != DEFAULT]

    def has_section(self, section: str) -> bool:
        return section in self._data

    def _entry(self, section: str, key: str):
        """The raw entry for ``key`` as seen from ``section``, or None."""
        if section != DEFAULT and section not in self._data:
            raise ConfigError(f"no section [{section}]")
        key = key.lower()
        entry = self._data.get(section, {}).get(key)
        if entry is None:
            entry = self._data.get(DEFAULT, {}).get(key)
        return entry

    def keys(self, section: str) -> list:
        """The keys visible in ``section`` (its own first, then defaults)."""
        own = list(self._data.get(section, {}))
        inherited = [k for k in self._data.get(DEFAULT, {}) if k not in own]
        return own + inherited

    def get(self, section: str, key: str, default=_MISSING) -> str:
        """The value of ``key`` in ``section``; ``default`` if given and the key is
        missing, else ConfigError."""
        entry = self._entry(section, key)
        if entry is None:
            if default is not _MISSING:
                return default
            raise ConfigError(f"[{section}] has no key {key!r}")
        return entry.value

    def getint(self, section: str, key: str, default=_MISSING) -> int:
        value = self.get(section, key, default)
        if value is default:
            return value
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"[{section}] {key}: not an integer: {value!r}") from None

    def getfloat(self, section: str, key: str, default=_MISSING) -> float:
        value = self.get(section, key, default)
        if value is default:
            return value
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"[{section}] {key}: not a number: {value!r}") from None

    def getbool(self, section: str, key: str, default=_MISSING) -> bool:
        value = self.get(section, key, default)
        if value is default:
            return value
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"[{section}] {key}: not a yes/no value: {value!r}")

    def getlist(self, section: str, key: str, default=_MISSING) -> list:
        """Comma- or newline-separated items, stripped, empty items dropped."""
        value = self.get(section, key, default)
        if value is default:
            return value
        return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]

    def items(self, section: str) -> list:
        """(key, value) for every key visible in ``section``."""
        return [(key, self.get(section, key)) for key in self.keys(section)]

    def as_dict(self) -> dict:
        """{section: {key: value}} for every section, defaults included."""
        return {section: dict(self.items(section)) for section in self.sections()}

    def set(self, section: str, key: str, value: str) -> None:
        """Set a value, creating the section if needed."""
        if "\n" in key or not key.strip():
            raise ConfigError(f"bad key {key!r}")
        entries = self._data.setdefault(section, {})
        entries[key.lower()] = _Entry(str(value), 0)

    def dump(self) -> str:
        """The settings as text that ``parse`` reads back to the same values."""
        blocks = []
        for section, entries in self._data.items():
            lines = [f"[{section}]"]
            lines += [f"{key} = {_quote_value(e.value)}" for key, e in entries.items()]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"
