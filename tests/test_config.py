"""RunConfig: YAML + overrides, clear errors naming the field."""

from pathlib import Path

import pytest

from hgm.config import ConfigError, RunConfig, absolute_benchmark, config_to_yaml, load_config


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


def test_paths_in_a_config_file_are_taken_from_its_folder(tmp_path: Path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "run.yaml").write_text("seed_agent: agents/seed\nbenchmark: dir:../tasks?ids=a\n")
    config = load_config(conf / "run.yaml", cwd=tmp_path / "elsewhere")
    assert config.seed_agent == conf / "agents" / "seed"
    assert config.benchmark == f"dir:{tmp_path / 'tasks'}?ids=a"


def test_paths_given_as_flags_are_taken_from_the_working_folder(tmp_path: Path):
    config = load_config(None, {"benchmark": "polyglot:checkout?languages=go", "seed_agent": "seed"},
                         cwd=tmp_path)
    assert config.benchmark == f"polyglot:{tmp_path / 'checkout'}?languages=go"
    assert config.seed_agent == tmp_path / "seed"
    assert load_config(None, {"benchmark": "builtin?ids=a,b"}, cwd=tmp_path).benchmark == "builtin?ids=a,b"


def test_swebench_local_paths_are_made_absolute_but_dataset_names_are_not(tmp_path: Path):
    (tmp_path / "data").mkdir()
    spec = absolute_benchmark("swebench:lite?repos=repos&dataset=data&split=test", tmp_path)
    assert spec == f"swebench:lite?repos={tmp_path / 'repos'}&dataset={tmp_path / 'data'}&split=test"
    named = "swebench:lite?dataset=princeton-nlp/SWE-bench_Lite"
    assert absolute_benchmark(named, tmp_path) == named


def test_a_file_that_is_not_yaml_is_one_line_naming_where(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("model: [scripted:demo\nworkers: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(f)
    assert "not valid YAML" in str(caught.value) and "line" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
