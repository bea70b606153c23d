"""The file channel in real agent processes: a second agent on the same directories is refused."""

from __future__ import annotations

from pathlib import Path

from tests.channels.file.test_crash_oracle import config
from tests.util import AgentProcess, free_port, write_conf


def test_second_agent_on_the_same_directories_gets_a_clear_lock_error(tmp_path: Path) -> None:
    first = AgentProcess(config(tmp_path, free_port()), "a1").start()
    try:
        first.wait_started(60)
        conf2 = write_conf(tmp_path, config(tmp_path, free_port()).read_text(), name="second.conf")
        second = AgentProcess(conf2, "a1", args=["--drain-timeout", "1"]).start()
        try:
            assert first.proc is not None
            second.wait_for_output(
                rf"channel c1 failed to start: file channel c1: directory {tmp_path / 'checkpoint'} is in use by "
                rf"another file channel \(pid {first.proc.pid}, lock .*in_use.lock\)", 60)
        finally:
            second.terminate()
    finally:
        assert first.terminate() == 0, first.output
