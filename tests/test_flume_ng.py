"""bin/flume-ng: Flume's launcher command lines, run unchanged against flumepy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.util import AgentProcess, write_conf

FLUME_NG = str(Path(__file__).resolve().parent.parent / "bin" / "flume-ng")

CONF = """\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 3
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
"""


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["FLUMEPY_PYTHON"] = sys.executable
    e["PYTHONUNBUFFERED"] = "1"
    return e


def flume_ng(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", FLUME_NG, *args], capture_output=True, text=True, env=env(), cwd=cwd,
                          timeout=60)


class FlumeNgProcess(AgentProcess):
    """AgentProcess started through bin/flume-ng with a full flume-ng command line."""

    def __init__(self, argv: list[str], cwd: str) -> None:
        super().__init__("", "", env=env(), cwd=cwd)
        self.argv = argv

    def start(self) -> AgentProcess:
        self.proc = subprocess.Popen(["bash", FLUME_NG, *self.argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=self.env, cwd=self.cwd)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self


def test_version_and_help() -> None:
    r = flume_ng("version")
    assert r.returncode == 0 and r.stdout.startswith("flumepy ")
    r = flume_ng("help")
    assert r.returncode == 0
    assert "Usage: flume-ng <command> [options]" in r.stdout and "--conf-file,-f" in r.stdout
    r = flume_ng()
    assert r.returncode == 1 and "Usage:" in r.stderr
    r = flume_ng("avro-client", "-H", "localhost")
    assert r.returncode == 1 and "'avro-client' is not supported by flumepy" in r.stderr
    r = flume_ng("agentt")
    assert r.returncode == 1 and "unknown command 'agentt'" in r.stderr


def test_dryrun_shows_the_translated_command(tmp_path: Path) -> None:
    r = flume_ng("agent", "-c", "conf", "-f", "conf/flume.conf", "-n", "a1", "-Dflume.root.logger=INFO,console",
                 "-Xmx512m", "--classpath", "/opt/lib/x.jar", "--plugins-path", "/opt/plugins.d",
                 "--no-reload-conf", "-i", "5", "--dryrun")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (f"{sys.executable} -m flumepy agent --conf conf --conf-file conf/flume.conf "
                                "--name a1 -Dflume.root.logger=INFO,console --no-reload-conf --poll-interval 5")
    assert "ignoring JVM option -Xmx512m" in r.stderr
    assert "ignoring --classpath /opt/lib/x.jar (Java only)" in r.stderr
    assert "ignoring --plugins-path /opt/plugins.d (Java only)" in r.stderr


def test_conf_uri_file_is_accepted_other_schemes_are_not() -> None:
    r = flume_ng("agent", "-n", "a1", "--conf-uri", "file:///etc/flume/a.conf", "-d")
    assert r.returncode == 0 and "--conf-file /etc/flume/a.conf" in r.stdout
    r = flume_ng("agent", "-n", "a1", "--conf-uri", "http://config/a.conf")
    assert r.returncode == 1 and "only file: URIs are supported" in r.stderr
    r = flume_ng("agent", "-n")
    assert r.returncode == 1 and "option -n needs a value" in r.stderr


def test_runs_a_flume_style_command_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    write_conf(conf_dir, CONF, "flume.conf")
    (conf_dir / "flume-env.sh").write_text('export JAVA_OPTS="-Xms100m"\n')
    agent = FlumeNgProcess(["agent", "--conf", "conf", "--conf-file", "conf/flume.conf", "--name", "a1",
                            "-Dflume.root.logger=INFO,console", "-Xmx64m", "--no-reload-conf"], str(tmp_path))
    try:
        agent.start()
        agent.wait_started()
        agent.wait_for_output(r"body: 32\s+2 \}")
        assert agent.terminate(timeout=15, sig=signal.SIGTERM) == 0
    finally:
        agent.kill()
    out = agent.output
    assert "note: ignoring conf/flume-env.sh (Java environment settings)" in out
    assert "note: ignoring JVM option -Xmx64m" in out
    assert "agent a1 stopped" in out and "Traceback" not in out


def test_config_errors_pass_through_with_exit_code_1(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, CONF.replace("type = memory", "type = memroy"))
    r = flume_ng("agent", "-n", "a1", "-f", str(conf), "--no-reload-conf")
    assert r.returncode == 1
    assert "unknown channel type 'memroy'. Did you mean memory?" in r.stderr
    assert "Traceback" not in r.stderr
