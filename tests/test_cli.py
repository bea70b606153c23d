"""The ``flumepy`` command as a user runs it: check, agent (signals, -D options, logging), version."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from flumepy._version import __version__
from tests.util import AgentProcess, run_cli, write_conf

GOOD = """\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 5
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
"""

PROBLEM = re.compile(r"^[^:\n]+:\d+: [\w.\-]+: .+$")


def test_version() -> None:
    r = run_cli("version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"flumepy {__version__}"


def test_check_ok(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD)
    r = run_cli("check", "--conf-file", str(conf), "--name", "a1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "agent a1: OK: 0 error(s), 0 warning(s); 1 source(s), 1 channel(s), 1 sink(s)"


def test_check_reports_errors_without_traceback(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD.replace("a1.channels.c1.type = memory",
                                             "a1.channels.c1.type = memory\na1.channels.c1.capacity = ten"))
    r = run_cli("check", "-f", str(conf), "-n", "a1")
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{conf}:8: a1.channels.c1.capacity: 'ten' is not valid: expected a positive integer"
    assert lines[-1].startswith("agent a1: FAILED: 1 error(s)")
    assert r.stderr == ""


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD + "a1.channels.c1.capacty = 10\n")
    r = run_cli("check", "-f", str(conf), "-n", "a1")
    assert r.returncode == 0
    assert f"{conf}:10: a1.channels.c1.capacty: warning: unknown key, ignored; did you mean capacity?" \
        in r.stdout.splitlines()
    r = run_cli("check", "-f", str(conf), "-n", "a1", "--strict")
    assert r.returncode == 1
    assert "agent a1: FAILED: 0 error(s), 1 warning(s)" in r.stdout


def test_check_without_name_checks_every_agent(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD + GOOD.replace("a1.", "a2.").replace("memory", "memroy"))
    r = run_cli("check", "-f", str(conf))
    assert r.returncode == 1
    assert "agent a1: OK" in r.stdout
    assert "agent a2: FAILED: 1 error(s)" in r.stdout
    assert f"{conf}:16: a2.channels.c1.type: unknown channel type 'memroy'. Did you mean memory?" in r.stdout


def test_check_unknown_agent_and_missing_file(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD)
    r = run_cli("check", "-f", str(conf), "-n", "agent1")
    assert r.returncode == 1
    assert f"{conf}: no agent named 'agent1' is configured in this file (agents found: a1)" in r.stdout
    r = run_cli("check", "-f", str(tmp_path / "missing.conf"))
    assert r.returncode == 1
    assert f"{tmp_path / 'missing.conf'}: cannot read configuration file: No such file or directory" in r.stderr
    assert "Traceback" not in r.stderr


def test_check_with_system_properties_and_conf_dir(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    write_conf(tmp_path / "conf", GOOD + "a1.channels.c1.capacity = ${sys:cap}\n", "flume.conf")
    r = run_cli("check", "-c", "conf", "-f", "flume.conf", "-n", "a1", "-Dcap=50", cwd=str(tmp_path))
    assert r.returncode == 1  # transactionCapacity defaults to 100
    assert ("conf/flume.conf:10: a1.channels.c1.capacity: 50 is smaller than transactionCapacity (default 100)"
            in r.stdout)
    r = run_cli("check", "-c", "conf", "-f", "flume.conf", "-n", "a1", "-Dcap=500", cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout


def test_agent_with_config_errors_does_not_start(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD.replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channel = c2"))
    r = run_cli("agent", "-n", "a1", "-f", str(conf), "--no-reload-conf", timeout=30)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{conf}:9: a1.sinks.k1.channel: channel 'c2' is not declared in a1.channels (declared: c1)" in r.stderr
    assert "configuration has errors; the agent was not started" in r.stderr


def test_agent_strict_refuses_warnings(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD + "a1.sinks.k1.bogus = 1\n")
    r = run_cli("agent", "-n", "a1", "-f", str(conf), "--no-reload-conf", "--strict", timeout=30)
    assert r.returncode == 1
    assert "a1.sinks.k1.bogus: warning: unknown key, ignored" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_agent_runs_and_stops_cleanly_on_signal(tmp_path: Path, agent_process: type[AgentProcess],
                                                 sig: signal.Signals) -> None:
    conf = write_conf(tmp_path, GOOD)
    agent = agent_process(conf, "a1", ["--no-reload-conf", "-Dflume.root.logger=INFO,console"]).start()
    agent.wait_started()
    agent.wait_for_output(r"body: 34\s+4 \}")  # the logger sink shows the 5th event
    rc = agent.terminate(timeout=15, sig=sig)
    assert rc == 0, agent.output
    out = agent.output
    assert f"received {sig.name}, shutting down" in out
    assert "agent a1 stopped" in out
    assert "Traceback" not in out


def test_debug_logging_and_tolerated_malformed_define(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    conf = write_conf(tmp_path, GOOD)
    agent = agent_process(conf, "a1", ["--no-reload-conf", "-Dflume.root.logger=DEBUG,console",
                                       "-Dflume.root.logger-INFO.console", "-Dflume.foo=bar"]).start()
    agent.wait_started()
    assert agent.terminate(timeout=15) == 0
    out = agent.output
    assert "WARNING [MainThread] flumepy: ignoring malformed option -Dflume.root.logger-INFO.console: " \
           "expected -Dkey=value" in out
    assert re.search(r"DEBUG \[MainThread\] flumepy: flumepy .*system properties .*'flume.foo': 'bar'", out), out


def test_unknown_log_level_is_a_warning(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    conf = write_conf(tmp_path, GOOD)
    agent = agent_process(conf, "a1", ["--no-reload-conf", "-Dflume.root.logger=LOUD,console"]).start()
    agent.wait_started()
    assert agent.terminate(timeout=15) == 0
    assert "-Dflume.root.logger=LOUD,console: unknown level 'LOUD'; using INFO" in agent.output
    assert "DEBUG [" not in agent.output


def test_agent_requires_name_and_conf_file() -> None:
    r = run_cli("agent", "-f", "x.conf")
    assert r.returncode == 2
    assert "-n/--name" in r.stderr
    assert "Traceback" not in r.stderr


def test_problem_lines_have_the_documented_shape(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, GOOD + "a1.sinks.k1.batchSize = 0\na1.sources.r1.batchSize = 1000\n"
                                       "a1.sources.r1.channels = c1 c3\n")
    r = run_cli("check", "-f", str(conf), "-n", "a1")
    assert r.returncode == 1
    problems = r.stdout.splitlines()[:-1]
    assert len(problems) == 3, r.stdout  # two errors and the duplicate-key warning
    for line in problems:
        assert PROBLEM.match(line), line


def test_a_stop_that_hangs_prints_every_threads_stack(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    conf = write_conf(tmp_path, GOOD.replace("a1.sinks.k1.type = logger",
                                             "a1.sinks.k1.type = tests.processors.fakes:StuckOnStopSink"))
    agent = agent_process(conf, "a1", ["--no-reload-conf", "--drain-timeout", "0"]).start().wait_started()
    assert agent.proc is not None
    agent.proc.send_signal(signal.SIGTERM)
    # drain timeout (0) + STOP_REPORT_AFTER (15 s): the stack of the thread stuck in the sink's stop()
    agent.wait_for_output(r'File ".*fakes\.py", line \d+ in stop', timeout=40)
    assert re.search(r"Thread 0x[0-9a-f]+ \(most recent call first\)", agent.output), agent.output
    assert "agent a1 stopped" not in agent.output
    agent.kill()
