"""The MCP server of ``hgm skills serve``: a node's skills as tools and resources.

Built on the official ``mcp`` SDK's low-level :class:`mcp.server.Server`, because the tools'
input schemas come from the skills' annotations (:mod:`hgm.skills.schema`), not from Python
functions of this process:

- every entry point is a tool named ``<skill>__<function>`` (as in the openai export); a call
  is checked against the tool's schema, then run in the sandbox (:mod:`.sandboxed`), never in
  the server's process; the result comes back as JSON text and as structured content
  ``{"result": ...}``;
- every SKILL.md is a resource ``skill://<name>/SKILL.md`` (text/markdown);
- ``search_skills(query, k)`` ranks the skills for a query like ``hgm skills search`` does
  (:class:`~hgm.skills.export.search.SkillSearch`) and says how (``mode``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hgm.sandbox import Sandbox
from hgm.skills.embed import Embedder
from hgm.skills.export import ToolSpec, tool_specs
from hgm.skills.export.sandboxed import CallLimits, CallResult, call_skill
from hgm.skills.export.search import SkillSearch
from hgm.skills.format import Skill
from hgm.skills.schema import input_schema

SEARCH_TOOL = "search_skills"
SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What you want to do, in a few words."},
        "k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5, "description": "How many skills to return."},
    },
    "required": ["query"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ServeOptions:
    """How calls run: the sandbox's limits, and a host folder the skills work on (read-only)."""

    limits: CallLimits = CallLimits()
    workspace: Path | None = None
    embedder: Embedder | None = None
    """Ranks search_skills by embedding cosine; None: BM25."""


class SkillHandlers:
    """The server's request handlers over a fixed list of skills (calls run in ``sandbox``)."""

    def __init__(self, skills: Sequence[Skill], sandbox: Sandbox, options: ServeOptions):
        self.specs = {s.name: s for s in tool_specs(skills)}
        self.schemas = {name: input_schema(s.skill, s.entry) for name, s in self.specs.items()}
        self.by_uri = {f"skill://{s.name}/SKILL.md": s for s in skills}
        self.search = SkillSearch(skills, options.embedder)
        self.sandbox, self.options = sandbox, options

    async def list_tools(self, ctx, params):
        import mcp_types as types

        tools = [types.Tool(name=n, description=s.description, input_schema=self.schemas[n]) for n, s in self.specs.items()]
        tools.append(types.Tool(name=SEARCH_TOOL, description=_SEARCH_DOC, input_schema=SEARCH_SCHEMA))
        return types.ListToolsResult(tools=tools)

    async def call_tool(self, ctx, params):
        import anyio
        import jsonschema

        arguments = dict(params.arguments or {})
        spec = self.specs.get(params.name)
        if spec is None and params.name != SEARCH_TOOL:
            return _error(f"unknown tool {params.name!r}")
        try:
            jsonschema.validate(arguments, SEARCH_SCHEMA if spec is None else self.schemas[params.name])
        except jsonschema.ValidationError as e:
            return _error(f"invalid arguments for {params.name}: {e.message}")
        if spec is None:
            return _ok(await anyio.to_thread.run_sync(self._search, arguments["query"], int(arguments.get("k", 5))))
        answer = await anyio.to_thread.run_sync(self._run, spec, arguments)
        return _ok(answer.result) if answer.ok else _error(answer.error or "the call failed")

    def _search(self, query: str, k: int) -> dict:
        hits = self.search.search(query, k)
        return {
            "mode": self.search.mode,  # "lexical" when there is no embedding model, or it failed
            "skills": [{"name": h.name, "description": h.description, "score": h.score, "tools": list(h.tools)} for h in hits],
        }

    def _run(self, spec: ToolSpec, arguments: dict) -> CallResult:
        return call_skill(self.sandbox, spec.skill, spec.entry.name, arguments,
                          limits=self.options.limits, workspace=self.options.workspace)  # fmt: skip

    async def list_resources(self, ctx, params):
        import mcp_types as types

        resources = [
            types.Resource(uri=uri, name=s.name, description=s.description, mime_type="text/markdown")
            for uri, s in self.by_uri.items()
        ]
        return types.ListResourcesResult(resources=resources)

    async def read_resource(self, ctx, params):
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        uri = str(params.uri)
        if uri not in self.by_uri:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource {uri}")
        text = (Path(self.by_uri[uri].folder) / "SKILL.md").read_text(encoding="utf-8")
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, text=text, mime_type="text/markdown")]
        )


def build_server(skills: Sequence[Skill], sandbox: Sandbox, options: ServeOptions = ServeOptions(), *, name: str = "hgm-skills"):
    """The MCP server (the SDK's low-level ``Server``) for ``skills``; calls run in ``sandbox``."""
    from mcp.server import Server

    handlers = SkillHandlers(skills, sandbox, options)
    return Server(
        name,
        instructions=_instructions(skills),
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_list_resources=handlers.list_resources,
        on_read_resource=handlers.read_resource,
    )


_SEARCH_DOC = (
    "Search the skill catalogue: the skills that best match a query, with their descriptions and "
    "the tools that run them. Read a skill's SKILL.md resource (skill://<name>/SKILL.md) for how to use it."
)


def _instructions(skills: Sequence[Skill]) -> str:
    names = ", ".join(s.name for s in skills)
    return (
        f"Skills from an hgm run: {names}. Call search_skills to find one, read its resource "
        "skill://<name>/SKILL.md, then call its tools (<skill>__<function>). Calls run in a sandbox."
    )


def _ok(result: object):
    import mcp_types as types

    text = json.dumps(result)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content={"result": result})


def _error(message: str):
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def serve(server, transport: str = "stdio", *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until the client hangs up (stdio) or the process is stopped (http: streamable HTTP at /mcp)."""
    import anyio

    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def main() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(main)
    elif transport == "http":
        import uvicorn

        app = server.streamable_http_app(host=host)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    else:
        raise ValueError(f"unknown transport {transport!r}; choose stdio or http")
