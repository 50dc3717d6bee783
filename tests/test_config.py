"""RunConfig: YAML + overrides, clear errors naming the field."""

from pathlib import Path

import pytest

from hgm.config import ConfigError, RunConfig, config_to_yaml, load_config


def test_flags_override_the_file(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("model: openai/gpt-5-mini\nworkers: 3\nmax_evals: 10\n")
    config = load_config(f, {"workers": 5, "max_evals": None})
    assert (config.model, config.workers, config.max_evals) == ("openai/gpt-5-mini", 5, 10)


def test_unknown_field_is_named(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("modle: x\n")
    with pytest.raises(ConfigError, match="'modle'"):
        load_config(f)


def test_bad_value_names_file_and_field(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("workers: 0\n")
    with pytest.raises(ConfigError, match=r"run.yaml: field 'workers'"):
        load_config(f)


def test_not_a_mapping_is_rejected(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(f)


def test_missing_model_explains_how_to_name_one(monkeypatch):
    monkeypatch.delenv("HGM_MODEL", raising=False)
    with pytest.raises(ConfigError, match="--model openai/gpt-5-mini"):
        RunConfig().resolved_model()


def test_model_from_environment(monkeypatch):
    monkeypatch.setenv("HGM_MODEL", "scripted:demo")
    assert RunConfig().resolved_model() == "scripted:demo"


def test_yaml_round_trip():
    config = RunConfig(model="scripted:demo", max_usd=1.5)
    assert load_config(None, __import__("yaml").safe_load(config_to_yaml(config))) == config


def test_every_field_is_documented():
    for name, field in RunConfig.model_fields.items():
        assert field.description, f"RunConfig.{name} has no description"
