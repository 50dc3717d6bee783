"""OpenAI export: strict tool definitions for chat completions and the responses API, and a
stdlib dispatcher that runs the model's tool calls.

The folder holds ``tools.chat.json`` (``[{"type": "function", "function": {...}}]``),
``tools.responses.json`` (``[{"type": "function", "name": ..., ...}]``), ``dispatch.py`` with
its ``manifest.json`` (tool name -> skill, module, function, parameters), and ``skills/``,
the skill folders the dispatcher imports. Schemas follow strict mode (see
:func:`hgm.skills.schema.strict_input_schema`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from hgm.skills.export import Exported, copy_skill, module_name, prepare_out, tool_specs
from hgm.skills.format import Skill
from hgm.skills.schema import decoder, strict_input_schema


def export_openai(skills: Sequence[Skill], out: Path) -> Exported:
    """Write the tool definitions, the dispatcher and the skills into ``out`` (absent or empty)."""
    specs = tool_specs(skills)
    chat, responses, manifest = [], [], {}
    for spec in specs:
        params = strict_input_schema(spec.skill, spec.entry)
        function = {"name": spec.name, "description": spec.description, "parameters": params, "strict": True}
        chat.append({"type": "function", "function": function})
        responses.append({"type": "function", **function})
        manifest[spec.name] = {
            "skill": spec.skill.name,
            "module": module_name(spec.skill),
            "function": spec.entry.name,
            "params": {
                p.name: {"required": p.required, "decode": decoder(p.annotation)} for p in spec.entry.params
            },
        }
    out = prepare_out(out)
    for skill in skills:
        copy_skill(skill, out / "skills" / skill.name)
    files = (out / "tools.chat.json", out / "tools.responses.json", out / "dispatch.py")
    files[0].write_text(json.dumps(chat, indent=2) + "\n", encoding="utf-8")
    files[1].write_text(json.dumps(responses, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("dispatch.py"), files[2])
    (out / "manifest.json").write_text(json.dumps({"tools": manifest}, indent=2) + "\n", encoding="utf-8")
    return Exported("openai", out, files, tuple(s.name for s in skills))
