import json
import tempfile
import textwrap
import unittest
from pathlib import Path

from agent.llm import LLMClient
from agent.loop import run_agent
from agent.skill_search import EmbeddingClient, front_matter
from agent.tools import Tools

from tests.fake_endpoint import FakeEndpoint, HTTPReply, tool_call

AGENT_ROOT = Path(__file__).resolve().parent.parent

COUNT_LINES = '''\
"""Count lines."""

import subprocess
import time

__all__ = ["count_lines", "explode", "noisy", "nap"]


def count_lines(path: str) -> dict[str, int]:
    """Count the lines of a file (relative to the working directory)."""
    print("counting", path)
    with open(path) as f:
        return {"lines": len(f.read().splitlines())}


def explode(message: str = "boom") -> None:
    """Raise an error."""
    raise ValueError(message)


def noisy() -> str:
    """Start a program that writes to the standard output."""
    subprocess.run(["echo", "noise from a child"])
    return "quiet"


def nap(seconds: float) -> None:
    """Sleep."""
    time.sleep(seconds)


def helper_not_exported() -> int:
    return 1
'''

FIND_SYMBOL = '''\
__all__ = ["find_symbol"]


def find_symbol(symbol: str, root: str = ".") -> list[str]:
    """Find the files where a Python symbol is defined."""
    return []
'''


def write_skill(skills: Path, name: str, description: str, module: str) -> None:
    folder = skills / name
    (folder / "tests").mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: >\n  {description}\nlicense: MIT\n---\n\n# {name}\n\nUse it well.\n"
    )
    (folder / f"{name.replace('-', '_')}.py").write_text(module)
    (folder / "tests" / "__init__.py").write_text("")


class SkillToolsTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        root = Path(self._tmp.name)
        self.workspace = root / "ws"
        self.workspace.mkdir()
        (self.workspace / "three.txt").write_text("a\nb\nc\n")
        self.skills = root / "agent" / "skills"
        self.skills.mkdir(parents=True)
        (self.skills / "README.md").write_text("not a skill")
        (self.skills / "no-skill-md").mkdir()
        write_skill(self.skills, "count-lines", "Count the lines of a text file.", COUNT_LINES)
        write_skill(self.skills, "find-symbol", "Find where a symbol is defined.", FIND_SYMBOL)

    def tearDown(self):
        self._tmp.cleanup()

    def tools(self, embeddings=None) -> Tools:
        return Tools(self.workspace, skills_dir=self.skills, embeddings=embeddings)

    # -- search_skills -----------------------------------------------------------------------
    def test_search_without_a_gateway_ranks_lexically_and_says_why(self):
        result = self.tools().call("search_skills", {"query": "count lines in a file"})
        self.assertTrue(result.ok)
        lines = result.output.splitlines()
        self.assertTrue(lines[0].startswith("ranking: lexical fallback: no embeddings endpoint"))
        self.assertRegex(lines[1], r"^1\. count-lines \(score \d+\.\d+\): Count the lines")
        self.assertNotIn("find-symbol", result.output)  # no shared word, no hit

    def test_search_ranks_by_the_gateways_embeddings(self):
        # Vectors that disagree with the words: the query is closest to find-symbol.
        def embed(texts):
            return [
                [1.0, 0.0] if "symbol" in t or t == "count lines" else [0.0, 1.0] for t in texts
            ]

        with FakeEndpoint([], embeddings=embed) as endpoint:
            client = EmbeddingClient(endpoint.url, token="tok")
            result = self.tools(client).call("search_skills", {"query": "count lines", "k": 1})
        self.assertEqual(result.output.splitlines()[0], "ranking: embedding (cosine similarity)")
        self.assertRegex(result.output.splitlines()[1], r"^1\. find-symbol \(score 1\.0000\)")
        self.assertNotIn("count-lines", result.output)
        self.assertEqual(endpoint.embedding_requests[0]["input"][0], "count lines")

    def test_embeddings_are_asked_in_batches_and_remembered(self):
        from agent import skill_search

        with FakeEndpoint(
            [], embeddings=lambda texts: [[float(len(t)), 1.0] for t in texts]
        ) as endpoint:
            client = EmbeddingClient(endpoint.url)
            texts = [f"text {i}" for i in range(skill_search.EMBEDDING_BATCH + 3)]
            vectors = client.embed(texts)
            again = client.embed(texts[:2])
        self.assertEqual(vectors[0], [6.0, 1.0])
        self.assertEqual(again, vectors[:2])
        sizes = [len(r["input"]) for r in endpoint.embedding_requests]
        self.assertEqual(sizes, [skill_search.EMBEDDING_BATCH, 3])

    def test_a_gateway_without_embeddings_means_lexical_fallback_and_is_not_asked_again(self):
        no_model = HTTPReply(503, {"error": {"message": "this run has no embedding model"}})
        with FakeEndpoint([], embeddings=no_model) as endpoint:
            tools = self.tools(EmbeddingClient(endpoint.url))
            first = tools.call("search_skills", {"query": "count lines"})
            second = tools.call("search_skills", {"query": "find a symbol"})
        self.assertIn(
            "lexical fallback: the gateway answered HTTP 503: this run has no embedding model",
            first.output,
        )
        self.assertIn("1. count-lines", first.output)
        self.assertIn("1. find-symbol", second.output)
        self.assertEqual(len(endpoint.embedding_requests), 1)

    def test_a_gateway_that_cannot_be_reached_means_lexical_fallback(self):
        result = self.tools(EmbeddingClient("http://127.0.0.1:9/v1")).call(
            "search_skills", {"query": "count lines"}
        )
        self.assertIn("lexical fallback: embeddings request failed", result.output)
        self.assertIn("1. count-lines", result.output)

    def test_an_empty_query_lists_every_skill(self):
        result = self.tools().call("search_skills", {"query": ""})
        self.assertIn("count-lines", result.output)
        self.assertIn("find-symbol", result.output)

    def test_search_with_no_skills_says_so(self):
        tools = Tools(self.workspace, skills_dir=self.workspace / "none")
        self.assertIn("No skills", tools.call("search_skills", {"query": "x"}).output)

    def test_the_default_skills_folder_is_the_one_beside_the_agents_source(self):
        self.assertEqual(Tools(self.workspace).skills.skills_dir, AGENT_ROOT / "skills")

    # -- read_skill --------------------------------------------------------------------------
    def test_read_shows_skill_md_files_and_entry_points(self):
        result = self.tools().call("read_skill", {"name": "count-lines"})
        self.assertTrue(result.ok)
        self.assertIn("description: >", result.output)
        self.assertIn("Use it well.", result.output)
        self.assertIn("Files: SKILL.md, count_lines.py, tests/__init__.py", result.output)
        self.assertIn(
            "- count_lines(path: str) -> dict[str, int]: Count the lines of a file", result.output
        )
        self.assertNotIn("helper_not_exported", result.output)

    def test_read_of_an_unknown_skill_lists_the_skills(self):
        result = self.tools().call("read_skill", {"name": "nope"})
        self.assertFalse(result.ok)
        self.assertIn(
            "no skill named 'nope'; the skills are: count-lines, find-symbol", result.output
        )

    def test_read_refuses_a_name_that_leaves_the_skills_folder(self):
        result = self.tools().call("read_skill", {"name": "../agent"})
        self.assertFalse(result.ok)
        self.assertIn("is not a skill name", result.output)

    # -- run_skill ---------------------------------------------------------------------------
    def run_skill(self, function, arguments=None, **extra):
        args = {"name": "count-lines", "function": function, **extra}
        if arguments is not None:
            args["arguments"] = arguments
        return self.tools().call("run_skill", args)

    def test_run_returns_the_result_computed_in_the_workspace(self):
        result = self.run_skill("count_lines", {"path": "three.txt"})
        self.assertTrue(result.ok, result.output)
        result_json, printed = result.output.split("\n[printed by the skill]\n")
        self.assertEqual(json.loads(result_json), {"result": {"lines": 3}})
        self.assertEqual(printed, "counting three.txt")

    def test_what_a_skills_child_process_prints_does_not_spoil_the_result(self):
        result = self.run_skill("noisy")
        result_json, printed = result.output.split("\n[printed by the skill]\n")
        self.assertEqual(json.loads(result_json), {"result": "quiet"})
        self.assertEqual(printed, "noise from a child")

    def test_run_accepts_arguments_sent_as_a_json_string(self):
        result = self.run_skill("count_lines", '{"path": "three.txt"}')
        self.assertEqual(json.loads(result.output.split("\n[")[0]), {"result": {"lines": 3}})

    def test_a_skill_that_raises_returns_its_error_and_traceback(self):
        result = self.run_skill("explode", {"message": "bad input"})
        self.assertFalse(result.ok)
        self.assertEqual(
            json.loads(result.output.split("\n[")[0]), {"error": "ValueError: bad input"}
        )
        self.assertIn("Traceback", result.output)

    def test_a_skill_that_runs_too_long_is_killed(self):
        result = self.run_skill("nap", {"seconds": 30}, timeout=1)
        self.assertFalse(result.ok)
        self.assertIn("timed out after 1 s", result.output)

    def test_run_refuses_a_function_that_is_not_an_entry_point(self):
        result = self.run_skill("helper_not_exported")
        self.assertFalse(result.ok)
        self.assertTrue(result.output.startswith("Error: skill count-lines has no entry point"))
        self.assertIn("count_lines, explode, noisy, nap", result.output)

    def test_run_refuses_arguments_that_are_not_an_object(self):
        self.assertIn("must be a JSON object", self.run_skill("count_lines", [1, 2]).output)
        self.assertIn("not valid JSON", self.run_skill("count_lines", "{").output)

    def test_run_reports_bad_keyword_arguments_as_the_skills_error(self):
        result = self.run_skill("count_lines", {"wrong": 1})
        self.assertFalse(result.ok)
        self.assertIn("TypeError", result.output)

    # -- in the loop ---------------------------------------------------------------------------
    def test_the_agent_searches_reads_and_runs_a_skill_and_the_trajectory_records_it(self):
        replies = [
            tool_call("search_skills", {"query": "count lines"}),
            tool_call("read_skill", {"name": "count-lines"}),
            tool_call(
                "run_skill",
                {
                    "name": "count-lines",
                    "function": "count_lines",
                    "arguments": {"path": "three.txt"},
                },
            ),  # fmt: skip
            tool_call("finish", {"summary": "3 lines"}),
        ]
        with FakeEndpoint(replies) as endpoint:
            llm = LLMClient(endpoint.url, token="t", retries=0)
            traj = run_agent("count", llm, self.tools(EmbeddingClient(endpoint.url)), 10, None)
        names = {spec["function"]["name"] for spec in endpoint.requests[0]["tools"]}
        self.assertLessEqual({"search_skills", "read_skill", "run_skill"}, names)
        calls = traj["tool_calls"]
        self.assertEqual(
            [c["name"] for c in calls], ["search_skills", "read_skill", "run_skill", "finish"]
        )
        self.assertTrue(all(c["ok"] for c in calls))
        self.assertIn("lexical fallback: the gateway answered HTTP 404", calls[0]["output"])
        self.assertIn('"lines": 3', calls[2]["output"])


class FrontMatterTest(unittest.TestCase):
    def test_reads_plain_quoted_and_folded_values(self):
        text = textwrap.dedent("""\
            ---
            name: my-skill
            description: >
              Does a thing,
              and another.
            license: "MIT"
            metadata:
              author: me
            ---
            body: not front matter
            """)
        meta = front_matter(text)
        self.assertEqual(meta["name"], "my-skill")
        self.assertEqual(meta["description"], "Does a thing, and another.")
        self.assertEqual(meta["license"], "MIT")
        self.assertNotIn("body", meta)

    def test_text_without_front_matter_has_none(self):
        self.assertEqual(front_matter("# just a title\n"), {})
