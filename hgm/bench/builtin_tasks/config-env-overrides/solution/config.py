"""Application settings: built-in defaults, optionally overlaid by a JSON file and by
`APP_<SECTION>__<KEY>` environment variables."""

import copy
import json
import os

DEFAULTS = {
    "server": {"host": "127.0.0.1", "port": 8080, "debug": False, "workers": 2},
    "db": {"url": "sqlite:///app.db", "pool_size": 5, "timeout_s": 2.5},
    "features": {"enabled": ["search"], "beta_banner": True},
}

ENV_PREFIX = "APP_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """The configuration is invalid."""


def _overlay(config, data, source):
    for section, values in data.items():
        if section not in config:
            raise ConfigError(f"{source}: unknown section {section!r}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section {section!r} must be an object")
        for key, value in values.items():
            if key not in config[section]:
                raise ConfigError(f"{source}: unknown setting {section}.{key}")
            config[section][key] = value


def _convert(text, like):
    # bool before int: bool is a subclass of int.
    if isinstance(like, bool):
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, list):
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _apply_environ(config, environ):
    for name, text in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        section, sep, key = name[len(ENV_PREFIX):].lower().partition("__")
        if not sep or section not in config or key not in config[section]:
            continue
        try:
            config[section][key] = _convert(text, DEFAULTS[section][key])
        except ValueError as e:
            raise ConfigError(f"environment variable {name}={text!r}: {e}") from None


def load_config(path=None, environ=None):
    """Return the settings as a dict of sections; each call returns a fresh copy.

    Precedence: defaults, then the JSON file at `path`, then `environ`
    (`os.environ` when None).
    """
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            _overlay(config, json.load(f), path)
    _apply_environ(config, os.environ if environ is None else environ)
    return config
