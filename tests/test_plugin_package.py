"""examples/plugin installed with pip as a real distribution, then used by a real agent process."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.util import AgentProcess, run_cli, wait_until

PLUGIN_SRC = Path(__file__).resolve().parent.parent / "examples" / "plugin"
LINES = ["alpha", "beta beta", "", "ünïcode", "last line without newline"]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example plugin pip-installed into its own --target directory (from a copy: pip builds in
    the source tree).  Returns {"target": install dir, "copy": the copied project}."""
    base = tmp_path_factory.mktemp("plugin")
    copy = base / "src"
    shutil.copytree(PLUGIN_SRC, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = base / "target"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(target), str(copy)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Only the installed copy may be importable from here on.
    shutil.rmtree(copy / "flumepy_example_plugin")
    return {"target": target, "copy": copy}


def plugin_env(target: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_example_agent(plugin: dict[str, Path], agent: str, tmp_path: Path,
                      agent_process: type[AgentProcess]) -> list[dict[str, object]]:
    src = tmp_path / "in.txt"
    src.write_bytes("\n".join(LINES).encode())
    out_dir = tmp_path / "out"
    env = plugin_env(plugin["target"], IN_FILE=str(src), OUT_DIR=str(out_dir))
    out = out_dir / f"{agent}.jsonl"
    proc = agent_process(PLUGIN_SRC / "example.conf", agent, ["--no-reload-conf"], env=env).start()
    proc.wait_started()
    wait_until(lambda: out.exists() and len(out.read_bytes().splitlines()) >= len(LINES), 20,
               what=f"{len(LINES)} lines in {out}\n{proc.output}")
    assert proc.terminate() == 0, proc.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_agent_uses_plugin_components_by_alias(plugin: dict[str, Path], tmp_path: Path,
                                               agent_process: type[AgentProcess]) -> None:
    rows = run_example_agent(plugin, "a1", tmp_path, agent_process)
    assert rows == [{"headers": {}, "body": line} for line in LINES]


def test_agent_uses_plugin_components_by_class_path(plugin: dict[str, Path], tmp_path: Path,
                                                    agent_process: type[AgentProcess]) -> None:
    rows = run_example_agent(plugin, "a2", tmp_path, agent_process)
    assert [base64.b64decode(r["body"]).decode() for r in rows] == LINES  # type: ignore[arg-type]
    assert all(r["headers"] == {} for r in rows)


def test_components_lists_the_plugin_with_its_distribution(plugin: dict[str, Path]) -> None:
    res = run_cli("components", env=plugin_env(plugin["target"]))
    assert res.returncode == 0, res.stderr
    sections = dict(re.findall(r"^(\w+):\n((?:  .*\n?)*)", res.stdout, re.M))
    assert re.search(r"^\s+lines\s+flumepy-example-plugin 0\.1\.0$", sections["sources"], re.M), res.stdout
    assert re.search(r"^\s+jsonl\s+flumepy-example-plugin 0\.1\.0$", sections["sinks"], re.M), res.stdout
    # Built-ins keep their own origin.
    assert re.search(r"^\s+memory\s+flumepy \S+$", sections["channels"], re.M), res.stdout


def test_without_the_plugin_the_alias_is_unknown(tmp_path: Path) -> None:
    res = run_cli("check", "-n", "a1", "-f", str(PLUGIN_SRC / "example.conf"),
                  env=plugin_env(tmp_path, IN_FILE="in", OUT_DIR="out"))
    assert res.returncode != 0
    assert "unknown sink type 'jsonl'" in res.stdout + res.stderr


def test_plugin_runs_flumepy_sink_contract(plugin: dict[str, Path], tmp_path: Path) -> None:
    """The plugin's own tests: flumepy.testing.SinkContract on JsonlSink, and run_pipeline."""
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
         str(plugin["copy"] / "tests")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=plugin_env(plugin["target"]),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    passed = re.findall(r"^PASSED .*::TestJsonlSink::(test_\w+)", res.stdout, re.M)
    assert set(passed) >= {
        "test_delivers_every_event_in_order", "test_process_returns_backoff_on_empty_channel",
        "test_failed_delivery_keeps_events_in_channel", "test_each_transaction_takes_at_most_batch_size_events",
    }, res.stdout
    assert "test_lines_to_jsonl PASSED" in res.stdout or re.search(r"^PASSED .*test_lines_to_jsonl", res.stdout,
                                                                    re.M), res.stdout
