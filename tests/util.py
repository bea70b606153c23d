"""Helpers shared by the tests: run a real agent process, free ports, polling waits."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(pred: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> object:
    """Poll ``pred`` until it returns something truthy; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}")
        time.sleep(interval)


def write_conf(directory: Path, text: str, name: str = "agent.conf") -> Path:
    p = Path(directory) / name
    p.write_text(textwrap.dedent(text))
    return p


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """``flumepy ARGS`` in a subprocess (python -m flumepy, so the checkout under test is used)."""
    return subprocess.run([sys.executable, "-m", "flumepy", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


class AgentProcess:
    """``flumepy agent`` as a child process; output collected in the background."""

    def __init__(self, conf: Path | str, name: str, args: Sequence[str] = (),
                 env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        self.conf = str(conf)
        self.name = name
        self.args = list(args)
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self._out: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def start(self) -> AgentProcess:
        cmd = [sys.executable, "-m", "flumepy", "agent", "-n", self.name, "-f", self.conf, *self.args]
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env, cwd=self.cwd)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self._out.append(line)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._out)

    def wait_for_output(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        rx = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if self.proc is not None and self.proc.poll() is not None and not rx.search(self.output):
                time.sleep(0.2)
                if not rx.search(self.output):
                    raise AssertionError(f"agent exited ({self.proc.returncode}) before {pattern!r}:\n"
                                         f"{self.output}")
            return rx.search(self.output)

        try:
            return wait_until(found, timeout, what=f"{pattern!r} in agent output")  # type: ignore[return-value]
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- agent output ---\n{self.output}") from None

    def wait_started(self, timeout: float = 20.0) -> AgentProcess:
        self.wait_for_output(r"agent \S+ started", timeout)
        return self

    def terminate(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            if self._reader is not None:
                self._reader.join(5)  # the last lines it wrote before the kill
            raise AssertionError(f"agent did not stop within {timeout}s after signal:\n{self.output}") from None
        if self._reader is not None:
            self._reader.join(5)
        return rc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="flumepy-test-"))
