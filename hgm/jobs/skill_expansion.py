"""A skill expansion: the child is the parent plus one skill (docs/skills.md, "Expansions").

The skill is either **distilled**, by one LLM call, from a successful trajectory in the
parent's clade (the reply names the skill and gives its files in a strict format; a reply that
breaks it is a failed expansion with the reason), or **adopted**: a verified skill another
lineage of the run already has, the one most relevant to the parent's failures. The child is
valid only if :func:`hgm.skills.verify.verify_skill` passes in the sandbox; otherwise it is an
invalid node with the verdict's reason, like a failed self-check. A new skill whose meaning is
too close to one the parent has (cosine of the two search texts' embeddings, or of their word
counts when the run has no embedding model, at or above ``near_cosine``) is a failed expansion
naming the near-duplicate, unless the reply said it improves that very skill: then the child
carries it as a new version.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hgm.gateway import ChatRequest, Gateway, Scope
from hgm.jobs.evaluation import Bounds
from hgm.jobs.expansion import ExpansionResult, InfrastructureError
from hgm.jobs.files import TreeTooLarge, copy_clean, prompt, remove_tree, shorten
from hgm.sandbox import Sandbox, SandboxError
from hgm.skills.format import NAME_RE, Skill, SkillError, find_skills, read_skill, search_text
from hgm.skills.index import entries_from_tree
from hgm.skills.verify import verify_skill

MAX_FILES = 20
MAX_REPLY_BYTES = 200_000
_FILE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")


@dataclass(frozen=True)
class SuccessCase:
    """A passing evaluation in the parent's clade: what the skill is distilled from."""

    node: int
    task: str
    instructions: str
    trajectory: str


@dataclass(frozen=True)
class AdoptChoice:
    """A verified skill of another lineage, and the node that introduced it."""

    skill: int
    name: str
    node: int
    files: Mapping[str, bytes]
    score: float


@dataclass(frozen=True)
class SkillPlan:
    """What a skill expansion of ``parent`` does: distil from ``success`` or adopt ``adopt``."""

    parent: int
    success: SuccessCase | None = None
    adopt: AdoptChoice | None = None


@dataclass(frozen=True)
class SkillSettings:
    verify_timeout_s: float = 120.0
    memory_mb: int = 1024
    near_cosine: float = 0.9
    bounds: Bounds = field(default_factory=Bounds)


class ReplyError(ValueError):
    """The LLM's reply breaks the skill reply format; the message says where."""


@dataclass(frozen=True)
class SkillReply:
    name: str
    improves: str | None
    files: dict[str, str]


def parse_skill_reply(text: str) -> SkillReply:
    """Read a reply in the format of hgm/prompts/distil_skill_system.txt."""
    if len(text.encode()) > MAX_REPLY_BYTES:
        raise ReplyError(f"the reply is longer than {MAX_REPLY_BYTES} bytes")
    lines = text.strip().removeprefix("```").removesuffix("```").strip().splitlines()
    header = [line.strip() for line in lines[:2]]
    if len(header) < 2 or not header[0].startswith("SKILL:") or not header[1].startswith("IMPROVES:"):
        raise ReplyError("the reply does not start with the lines 'SKILL: <name>' and 'IMPROVES: ...'")
    name = header[0].removeprefix("SKILL:").strip()
    improves = header[1].removeprefix("IMPROVES:").strip()
    if not NAME_RE.match(name) or len(name) > 64:
        raise ReplyError(f"skill name {name!r} is not lowercase letters, digits and single hyphens")
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[2:]:
        if line.startswith("--- END"):
            break
        if line.startswith("--- FILE:"):
            rel = line.removeprefix("--- FILE:").strip()
            if not _FILE_RE.match(rel) or ".." in rel.split("/") or rel in files:
                raise ReplyError(f"file name {rel!r} is not a new relative path inside the skill folder")
            current = files[rel] = []
        elif current is None:
            if line.strip():
                raise ReplyError("text before the first '--- FILE:' line")
        else:
            current.append(line)
    else:
        raise ReplyError("the reply has no '--- END' line (cut short?)")
    if len(files) > MAX_FILES:
        raise ReplyError(f"the reply has {len(files)} files; at most {MAX_FILES}")
    for required in ("SKILL.md", name.replace("-", "_") + ".py"):
        if required not in files:
            raise ReplyError(f"the reply has no {required}")
    contents = {rel: "\n".join(body).strip("\n") + "\n" for rel, body in files.items()}
    contents.setdefault("tests/__init__.py", "")
    return SkillReply(name, None if improves.lower() in ("", "none") else improves, contents)


def distil(gateway: Gateway, model: str, scope: Scope, success: SuccessCase, have: list[Skill]) -> str:
    """One LLM call; returns the reply's text."""
    listing = "\n".join(f"- {s.name}: {s.description}" for s in have) or "(none)"
    user = prompt("distil_skill_user").format(
        task=success.task, instructions=shorten(success.instructions, 4_000),
        trajectory=shorten(success.trajectory, 16_000), skills=shorten(listing, 8_000),
    )
    request = ChatRequest(model=model, messages=[
        {"role": "system", "content": prompt("distil_skill_system")},
        {"role": "user", "content": user},
    ])
    return gateway.complete(request, scope).message.get("content") or ""


def expand_skill(
    sandbox: Sandbox,
    gateway: Gateway,
    parent_dir: Path,
    plan: SkillPlan,
    dest: Path,
    *,
    model: str,
    scope: Scope,
    settings: SkillSettings,
    embedder: object | None = None,
) -> ExpansionResult:
    """Make the child of ``plan``: the parent in ``parent_dir`` plus one skill, written to ``dest``."""
    have, _ = find_skills(parent_dir)
    if plan.adopt is not None:
        a = plan.adopt
        statement = f"skill: adopt {a.name} from node {a.node} (relevance {a.score:.2f})"
        name, improves, files = a.name, None, dict(a.files)
        origin = {"how": "adopted", "from_node": a.node}
        sources: list[str] = []
    else:
        s = plan.success
        statement = f"skill: distil from the passing run of task {s.task} on node {s.node}"
        try:
            reply = parse_skill_reply(distil(gateway, model, scope, s, have))
        except ReplyError as e:
            return ExpansionResult(statement, None, False, f"malformed skill reply: {e}", kind="skill")
        name, improves, files = reply.name, reply.improves, reply.files
        statement = f"skill: distil {name} from the passing run of task {s.task} on node {s.node}"
        origin = {"how": "distilled", "from_node": s.node, "task": s.task}
        sources = [s.task]
    names = {skill.name: skill for skill in have}
    if improves is not None and (improves != name or name not in names):
        return ExpansionResult(statement, None, False, f"IMPROVES names {improves!r}, which is not the "
                               f"reply's skill {name!r} among the parent's skills", kind="skill")
    if name in names and improves is None:
        return ExpansionResult(statement, None, False, f"name clash: the parent already has a skill "
                               f"named {name} (the reply did not say it improves it)", kind="skill")
    try:
        copy_clean(parent_dir, dest, settings.bounds.agent_tree)
    except TreeTooLarge as e:
        raise InfrastructureError(f"the parent's source could not be copied: {e}") from None
    folder = dest / "skills" / name
    if folder.exists():
        remove_tree(folder)
    _write(folder, files)
    near = _near_duplicate(folder, [s for s in have if s.name != name], embedder, settings.near_cosine)
    if near is not None:
        remove_tree(dest)
        dest.mkdir()
        return ExpansionResult(statement, None, False, near, kind="skill")
    try:
        verdict = verify_skill(folder, sandbox, timeout_s=settings.verify_timeout_s, memory_mb=settings.memory_mb)
    except SandboxError as e:
        raise InfrastructureError(f"sandbox failed while verifying skill {name}: {e}") from None
    entries = entries_from_tree(dest, embedder=embedder, origins={name: origin},
                                verified=[name] if verdict.ok else [], source_tasks={name: sources})
    reason = None if verdict.ok else f"skill {name} failed verification: {verdict.reason}\n{shorten(verdict.log, 3_000)}"
    return ExpansionResult(statement, dest, verdict.ok, reason, kind="skill", skills=tuple(entries))


def _write(folder: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _near_duplicate(folder: Path, have: list[Skill], embedder: object | None, threshold: float) -> str | None:
    """The reason a new skill is refused as a near-duplicate of one in ``have``, or None."""
    try:
        new = read_skill(folder)
    except SkillError:
        return None  # statically invalid: verification says why
    if not have:
        return None
    texts = [search_text(new)] + [search_text(s) for s in have]
    if embedder is not None:
        vectors = np.asarray(embedder.embed(texts), np.float32)
    else:
        vectors = word_vectors(texts)
    scores = vectors[1:] @ vectors[0]
    best = int(np.argmax(scores))
    if scores[best] < threshold:
        return None
    how = "embedding" if embedder is not None else "word-count"
    return (f"near-duplicate of skill {have[best].name}: {how} cosine {scores[best]:.3f} >= "
            f"{threshold} (skill_dedup_cosine); improve that skill instead")


def word_vectors(texts: list[str]) -> np.ndarray:
    """L2-normalised word-count vectors over the texts' joint vocabulary (lowercase words)."""
    counts = [Counter(re.findall(r"[a-z0-9]+", t.lower())) for t in texts]
    vocab = sorted(set().union(*counts))
    position = {w: i for i, w in enumerate(vocab)}
    matrix = np.zeros((len(texts), max(len(vocab), 1)), np.float32)
    for row, c in enumerate(counts):
        for word, n in c.items():
            matrix[row, position[word]] = n
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)
