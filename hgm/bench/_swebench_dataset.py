"""Reading SWE-bench instances: local files and folders, or HuggingFace datasets.

Every instance is validated on the way in, and every problem names the instance and the
field, so a dataset can be fixed from the message alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hgm.bench._swebench_grading import INSTALL_HINT
from hgm.bench.dirbench import BenchmarkError

DEFAULT_SPLIT = "test"


class Instance(BaseModel):
    """One SWE-bench instance, as read from a dataset (other columns are ignored).

    ``FAIL_TO_PASS``/``PASS_TO_PASS`` may be JSON-encoded lists, as in the datasets.
    ``eval_script``, ``log_parser``, ``eval_type`` and ``image`` are the harness's fields
    (swebench >= 5 datasets carry them). ``repo_path`` and ``test_cmd`` are hgm's: a local
    git repository holding ``base_commit`` (relative to the dataset file's folder), and the
    shell command that runs the instance's tests from the repository root (else it is read
    from ``eval_script``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    instance_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    base_commit: str = Field(pattern=r"^[0-9a-fA-F]{7,40}$")
    patch: str
    test_patch: str = Field(min_length=1)
    problem_statement: str = Field(min_length=1)
    FAIL_TO_PASS: list[str] = Field(min_length=1)
    PASS_TO_PASS: list[str]
    version: str = ""
    eval_script: str | None = None
    log_parser: str | None = None
    eval_type: str | None = None
    image: str | None = None
    repo_path: str | None = None
    test_cmd: str | None = None

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _decode_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("must be a list of test names (or that list as JSON)") from None
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @property
    def id(self) -> str:
        return self.instance_id


def load_instances(source: str, split: str = DEFAULT_SPLIT) -> list[Instance]:
    """Read and validate every instance of a dataset (a local path or a HuggingFace name);
    every problem is reported at once, naming the instance and the field."""
    rows = _read_rows(source, split)
    problems: list[str] = []
    instances: list[Instance] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            problems.append(f"{source}: instance #{n}: not an object")
            continue
        iid = row.get("instance_id")
        label = f"instance {iid!r}" if isinstance(iid, str) and iid else f"instance #{n}"
        try:
            instance = Instance.model_validate(row)
        except ValidationError as e:
            problems += [f"{source}: {label}: {_describe(err)}" for err in e.errors()]
            continue
        if instance.instance_id in seen:
            problems.append(f"{source}: {label}: field 'instance_id' is used twice")
        seen.add(instance.instance_id)
        instances.append(instance)
    if not rows:
        problems.append(f"{source}: no instances")
    if problems:
        raise BenchmarkError("\n".join(problems))
    return instances


def select_instances(
    instances: list[Instance], ids: str | None, sample: str | None, seed: str | None
) -> list[Instance]:
    """``ids``/``sample``/``seed`` exactly as :func:`hgm.bench.select_tasks` applies them."""
    from hgm.bench import select_tasks

    if seed is not None and sample is None:
        raise BenchmarkError("seed= only applies with sample=")
    wanted = None
    if ids is not None:
        wanted = [part.strip() for part in ids.split(",") if part.strip()]
        if not wanted:
            raise BenchmarkError("ids= lists no instance ids")
    return select_tasks(
        instances,  # type: ignore[arg-type]  # select_tasks only reads .id
        ids=wanted,
        sample=_integer("sample", sample),
        seed=_integer("seed", seed) or 0,
    )


def _integer(key: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BenchmarkError(f"{key}= must be an integer, got {value!r}") from None


def _read_rows(source: str, split: str) -> list:
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix == ".jsonl":
            return _read_jsonl(path)
        if path.suffix == ".json":
            data = _read_json(path, path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise BenchmarkError(f"{path}: must hold a JSON list of instances")
            return data
        if path.suffix == ".parquet":
            return _hf_rows(
                source, lambda ds: ds.load_dataset("parquet", data_files=str(path), split="train")
            )
        raise BenchmarkError(f"{path}: unknown dataset file type (use .json, .jsonl or .parquet)")
    if path.is_dir():
        return _hf_rows(source, lambda ds: _split_of(ds.load_from_disk(str(path)), split, source))
    if _looks_like_path(source):
        raise BenchmarkError(f"{source}: no such dataset file or folder")
    return _hf_rows(source, lambda ds: ds.load_dataset(source, split=split))


def _read_jsonl(path: Path) -> list:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            rows.append(_read_json(f"{path}:{n}", line))
    return rows


def _read_json(where: object, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BenchmarkError(f"{where}: not valid JSON: {e}") from None


def _hf_rows(source: str, load) -> list:
    try:
        import datasets
    except ImportError:
        raise BenchmarkError(
            f"loading {source} needs the datasets package: {INSTALL_HINT}"
        ) from None
    try:
        return [dict(row) for row in load(datasets)]
    except BenchmarkError:
        raise
    except Exception as e:  # datasets raises many kinds: no network, no such dataset, ...
        raise BenchmarkError(
            f"could not load SWE-bench dataset {source!r}: {type(e).__name__}: {e} "
            "(a HuggingFace dataset needs internet; offline, pass dataset=PATH)"
        ) from None


def _split_of(loaded, split: str, source: str):
    if hasattr(loaded, "keys"):  # a DatasetDict saved whole
        if split not in loaded:
            raise BenchmarkError(f"{source}: no split {split!r}; it has: {', '.join(loaded)}")
        return loaded[split]
    return loaded


def _looks_like_path(source: str) -> bool:
    return (
        source.startswith((".", "/", "~"))
        or source.endswith((".json", ".jsonl", ".parquet"))
        or source.count("/") != 1
    )


def dataset_folder(source: str) -> Path | None:
    path = Path(source).expanduser()
    return path.resolve().parent if path.is_file() else path.resolve() if path.is_dir() else None


def _describe(err: dict) -> str:
    field, *rest = err["loc"] or ("?",)
    where = f"field {field!r}" + (f" (item {'.'.join(map(str, rest))})" if rest else "")
    return f"{where} is missing" if err["type"] == "missing" else f"{where}: {err['msg']}"
