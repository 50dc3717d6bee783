"""Application settings: built-in defaults, optionally overlaid by a JSON file."""

import copy
import json

DEFAULTS = {
    "server": {"host": "127.0.0.1", "port": 8080, "debug": False, "workers": 2},
    "db": {"url": "sqlite:///app.db", "pool_size": 5, "timeout_s": 2.5},
    "features": {"enabled": ["search"], "beta_banner": True},
}


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


def load_config(path=None):
    """Return the settings as a dict of sections; each call returns a fresh copy."""
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            _overlay(config, json.load(f), path)
    return config
