"""exec source: a command's stdout lines become events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sources.exec import ExecSource
from tests.sources.conftest import Wired
from tests.util import AgentProcess, wait_until, write_conf


def run(wire: Callable[..., Wired], settings: dict[str, str], **kw: object) -> Wired:
    w = wire(ExecSource, settings, **kw)
    w.source.start()
    return w


def collect(w: Wired, n: int, what: str = "") -> list[Event]:
    got: list[Event] = []
    wait_until(lambda: got.extend(w.take()) or len(got) >= n, what=what or f"{n} events")
    return got


def test_lines_become_events_through_a_shell(wire: Callable[..., Wired]) -> None:
    w = run(wire, {"command": r"printf 'one\ntwo words\r\n\nlast'", "shell": "/bin/sh -c"})
    got = collect(w, 4)
    assert [e.body for e in got] == [b"one", b"two words", b"", b"last"]
    assert all(e.headers == {} for e in got)
    v = w.source.counters.values
    assert v["EventReceivedCount"] == 4 and v["EventAcceptedCount"] == 4


def test_without_shell_the_command_is_split_on_whitespace(wire: Callable[..., Wired]) -> None:
    w = run(wire, {"command": 'echo  "a  b"   c'})
    assert [e.body for e in collect(w, 1)] == [b'"a b" c']


def test_many_lines_in_batches_keep_order(wire: Callable[..., Wired], tmp_path: Path) -> None:
    f = tmp_path / "in.txt"
    n = 50_000
    f.write_bytes(b"".join(b"line %d\n" % i for i in range(n)))
    w = run(wire, {"command": f"cat {f}", "batchSize": "7"}, transaction_capacity=7, capacity=100_000)
    assert w.source.batch_size == 7
    got = collect(w, n)
    assert [e.body for e in got] == [b"line %d" % i for i in range(n)]
    v = w.source.counters.values
    assert v["AppendBatchAcceptedCount"] == -(-n // 7)


def test_partial_batch_is_flushed_after_batch_timeout(wire: Callable[..., Wired]) -> None:
    # The command keeps running: the two lines can only arrive through the batchTimeout flush.
    w = run(wire, {"command": "echo first; echo second; exec sleep 60", "shell": "/bin/sh -c",
                   "batchSize": "100", "batchTimeout": "50"})
    assert [e.body for e in collect(w, 2)] == [b"first", b"second"]
    w.source.stop()
    assert w.source._thread is None


def test_restart_reruns_the_command(wire: Callable[..., Wired]) -> None:
    w = run(wire, {"command": "echo again", "restart": "true", "restartThrottle": "20"})
    got = collect(w, 3)
    assert {e.body for e in got} == {b"again"}
    assert w.source.runs >= 3


def test_no_restart_by_default(wire: Callable[..., Wired], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "flumepy.sources.exec")
    w = run(wire, {"command": "echo once"})
    assert [e.body for e in collect(w, 1)] == [b"once"]
    wait_until(lambda: "exited with 0" in caplog.text, what="exit logged")
    assert w.source.runs == 1
    assert "restarting" not in caplog.text


def test_command_not_found_is_logged_and_retried(wire: Callable[..., Wired],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "flumepy.sources.exec")
    w = run(wire, {"command": "no-such-command-xyz --flag", "restart": "true", "restartThrottle": "20"})
    wait_until(lambda: caplog.text.count("cannot run command [no-such-command-xyz --flag]") >= 2,
               what="two failed attempts logged")
    assert "No such file or directory" in caplog.text
    assert w.take() == []


def test_command_not_found_in_shell_logs_exit_127(wire: Callable[..., Wired],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "flumepy.sources.exec")
    run(wire, {"command": "no-such-command-xyz", "shell": "/bin/sh -c"})
    wait_until(lambda: "exited with 127 (command not found)" in caplog.text, what="exit 127 logged")


def test_log_stderr(wire: Callable[..., Wired], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "flumepy.sources.exec")
    w = run(wire, {"command": "echo out; echo oops >&2", "shell": "/bin/sh -c", "logStdErr": "true"})
    assert [e.body for e in collect(w, 1)] == [b"out"]
    wait_until(lambda: "StderrLogger[1] = 'oops'" in caplog.text, what="stderr line logged")


def test_full_channel_backs_up_without_loss(wire: Callable[..., Wired]) -> None:
    w = run(wire, {"command": "seq 1 200", "batchSize": "5"}, capacity=10, transaction_capacity=5)
    wait_until(lambda: w.source.counters.values["ChannelWriteFail"] > 0, what="a put on the full channel")
    got = collect(w, 200)
    assert [e.body for e in got] == [str(i).encode() for i in range(1, 201)]


def test_invalid_bytes_are_replaced(wire: Callable[..., Wired], tmp_path: Path) -> None:
    f = tmp_path / "bad.bin"
    f.write_bytes(b"ok\nbad \xff here\ncaf\xc3\xa9\n")
    w = run(wire, {"command": f"cat {f}"})
    assert [e.body for e in collect(w, 3)] == [b"ok", "bad \ufffd here".encode(), "café".encode()]


def test_utf16_charset(wire: Callable[..., Wired], tmp_path: Path) -> None:
    f = tmp_path / "u16.txt"
    f.write_bytes("héllo\r\nwörld".encode("utf-16-le"))  # the last line has no newline
    w = run(wire, {"command": f"cat {f}", "charset": "UTF-16LE"})
    assert [e.body for e in collect(w, 2)] == ["héllo".encode("utf-16-le"), "wörld".encode("utf-16-le")]


def test_stop_kills_the_whole_process_group(wire: Callable[..., Wired]) -> None:
    w = run(wire, {"command": "sleep 60 & echo $!; wait", "shell": "/bin/sh -c", "batchTimeout": "10"})
    (event,) = collect(w, 1)
    pid = int(event.body)
    assert _alive(pid)
    w.source.stop()
    wait_until(lambda: not _alive(pid), what=f"background sleep {pid} gone")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("settings,key", [
    ({}, "a1.sources.r1.command"),
    ({"command": "echo", "batchSize": "0"}, "a1.sources.r1.batchSize"),
    ({"command": "echo", "restart": "maybe"}, "a1.sources.r1.restart"),
    ({"command": "echo", "charset": "klingon"}, "a1.sources.r1.charset"),
])
def test_bad_settings_name_the_key(wire: Callable[..., Wired], settings: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        wire(ExecSource, settings)


# -- end to end, through the CLI ----------------------------------------------------------------
def _conf(tmp_path: Path, command: str, out: Path, extra: str = "") -> Path:
    return write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = exec
        a1.sources.r1.command = {command}
        a1.sources.r1.batchSize = 100
        a1.sources.r1.channels = c1
        {extra}
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 1000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        """)


def _written(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.iterdir()))


def test_agent_exec_cat_to_file_roll(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    src = tmp_path / "input.txt"
    data = b"".join(b"row %d of the input\n" % i for i in range(20_000))
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    agent = agent_process(_conf(tmp_path, f"cat {src}", out), "a1", ["--no-reload-conf"]).start()
    agent.wait_started()
    agent.wait_for_output(rf"exec source r1: command \[cat {src}\] exited with 0")
    wait_until(lambda: len(_written(out)) == len(data), what="all input bytes in the output directory")
    assert agent.terminate() == 0
    assert _written(out) == data


def test_agent_keeps_running_when_command_is_missing(tmp_path: Path,
                                                    agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    conf = _conf(tmp_path, "/nonexistent/tool -f", out, "a1.sources.r1.restart = true\n"
                 "        a1.sources.r1.restartThrottle = 100")
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent.wait_for_output(r"exec source r1: cannot run command \[/nonexistent/tool -f\]: No such file or directory")
    agent.wait_for_output(r"restarting command \[/nonexistent/tool -f\] in 100 ms")
    assert agent.proc is not None and agent.proc.poll() is None
    assert agent.terminate() == 0
    assert _written(out) == b""
