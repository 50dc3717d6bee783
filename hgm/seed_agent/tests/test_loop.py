import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from agent.llm import LLMClient
from agent.loop import run_agent
from agent.tools import Tools

from tests.fake_endpoint import FakeEndpoint, HTTPReply, tool_call

AGENT_ROOT = Path(__file__).resolve().parent.parent


class LoopTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.workspace = self.root / "ws"
        self.workspace.mkdir()
        self.trajectory = self.root / "out" / "trajectory.json"

    def tearDown(self):
        self._tmp.cleanup()

    def run_with(self, replies, max_steps=10):
        with FakeEndpoint(replies) as endpoint:
            llm = LLMClient(endpoint.url, token="t", retries=2, backoff_s=0)
            traj = run_agent("the task", llm, Tools(self.workspace), max_steps, self.trajectory)
        self.endpoint = endpoint
        return traj

    def test_tool_calls_run_until_finish(self):
        traj = self.run_with(
            [
                tool_call("create_file", {"path": "a.txt", "content": "hello"}),
                tool_call("bash", {"command": "cat a.txt"}),
                tool_call("finish", {"summary": "wrote a.txt"}),
            ]
        )
        self.assertEqual(traj["finish_reason"], "finished")
        self.assertEqual(traj["summary"], "wrote a.txt")
        self.assertEqual(traj["steps"], 3)
        self.assertEqual((self.workspace / "a.txt").read_text(), "hello")
        last_request = self.endpoint.requests[-1]["messages"]
        self.assertEqual(last_request[-1]["role"], "tool")
        self.assertIn("hello", last_request[-1]["content"])

    def test_results_go_back_with_the_id_of_their_call(self):
        self.run_with([tool_call("bash", {"command": "true"}, call_id="abc")])
        tool_message = self.endpoint.requests[1]["messages"][-1]
        self.assertEqual(tool_message["tool_call_id"], "abc")

    def test_malformed_arguments_are_reported_to_the_model_and_the_run_goes_on(self):
        traj = self.run_with(
            [tool_call("view", '{"path": '), tool_call("finish", {"summary": "ok"})]
        )
        self.assertEqual(traj["finish_reason"], "finished")
        error = self.endpoint.requests[1]["messages"][-1]["content"]
        self.assertIn("not valid JSON", error)

    def test_a_reply_without_tool_calls_is_answered_with_a_nudge(self):
        traj = self.run_with([{"role": "assistant", "content": "thinking"}])
        self.assertEqual(traj["finish_reason"], "finished")
        self.assertEqual(self.endpoint.requests[1]["messages"][-1]["role"], "user")

    def test_the_step_limit_stops_the_run_and_the_trajectory_is_written(self):
        traj = self.run_with([tool_call("bash", {"command": "true"})] * 5, max_steps=3)
        self.assertEqual(traj["finish_reason"], "step_limit")
        self.assertEqual(len(self.endpoint.requests), 3)
        written = json.loads(self.trajectory.read_text())
        self.assertEqual(written["steps"], 3)
        self.assertEqual(written["finish_reason"], "step_limit")

    def test_rate_limits_are_retried(self):
        traj = self.run_with([HTTPReply(429, headers={"Retry-After": "0"})])
        self.assertEqual(traj["finish_reason"], "finished")
        self.assertEqual(len(self.endpoint.requests), 2)

    def test_gateway_errors_are_final_because_the_gateway_already_retried(self):
        traj = self.run_with([HTTPReply(503, {"error": {"message": "gave up after 5 attempts"}})])
        self.assertEqual(traj["finish_reason"], "llm_error")
        self.assertEqual(len(self.endpoint.requests), 1)
        self.assertIn("gave up after 5 attempts", traj["errors"][0])

    def test_budget_exhaustion_stops_cleanly_without_retrying(self):
        error = {"error": {"type": "budget_exhausted", "message": "no money left"}}
        traj = self.run_with([HTTPReply(402, error)])
        self.assertEqual(traj["finish_reason"], "budget_exhausted")
        self.assertEqual(len(self.endpoint.requests), 1)
        self.assertIn("no money left", traj["errors"][0])
        self.assertEqual(
            json.loads(self.trajectory.read_text())["finish_reason"], "budget_exhausted"
        )

    def test_a_client_error_stops_the_run_and_is_recorded(self):
        traj = self.run_with([HTTPReply(400, {"error": {"message": "bad request"}})])
        self.assertEqual(traj["finish_reason"], "llm_error")
        self.assertIn("bad request", traj["errors"][0])


class CommandLineTest(unittest.TestCase):
    def run_script(self, root, endpoint, **popen):
        env = {**os.environ, "HGM_GATEWAY_URL": endpoint.url, "HGM_TOKEN": "secret"}
        args = ["--workspace", root / "ws", "--task-file", root / "task.txt"]
        args += ["--trajectory", root / "traj.json", "--model", "m1"]
        command = [sys.executable, AGENT_ROOT / "run_agent.py", *args]
        return subprocess.Popen(command, cwd=root, env=env, text=True, **popen)

    def test_run_agent_script_edits_the_workspace_and_writes_the_trajectory(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "ws").mkdir()
            (root / "task.txt").write_text("write hi to a.txt")
            replies = [
                tool_call("create_file", {"path": "a.txt", "content": "hi"}),
                tool_call("finish", {"summary": "done"}),
            ]
            with FakeEndpoint(replies) as endpoint:
                proc = self.run_script(root, endpoint, stderr=subprocess.PIPE)
                _, stderr = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0, stderr)
            self.assertEqual((root / "ws" / "a.txt").read_text(), "hi")
            self.assertEqual(
                json.loads((root / "traj.json").read_text())["finish_reason"], "finished"
            )
            self.assertEqual(endpoint.requests[0]["model"], "m1")
            self.assertEqual(endpoint.headers[0]["Authorization"], "Bearer secret")

    def test_sigterm_stops_the_run_and_the_trajectory_is_still_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "ws").mkdir()
            (root / "task.txt").write_text("wait")
            with FakeEndpoint([tool_call("bash", {"command": "sleep 60"})]) as endpoint:
                proc = self.run_script(root, endpoint, stderr=subprocess.DEVNULL)
                while not endpoint.requests and proc.poll() is None:
                    time.sleep(0.02)
                proc.terminate()
                proc.wait(timeout=30)
            self.assertEqual(proc.returncode, 1)
            trajectory = json.loads((root / "traj.json").read_text())
            self.assertEqual(trajectory["finish_reason"], "interrupted")


if __name__ == "__main__":
    unittest.main()
