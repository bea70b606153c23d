"""Type ``exec``: Flume's ExecSource — runs a command and turns each line of its stdout into an event.

Keys (Flume 1.11):

===============  =======  ========  ==============================================================
key              type     default   meaning
===============  =======  ========  ==============================================================
command          string   required  The command to run.
shell            string   (none)    Shell to run it with, e.g. ``/bin/sh -c``; the command is then
                                    passed as one argument (pipes, globs and variables work).
                                    Without it the command is split on whitespace (no quoting).
restart          bool     false     Run the command again when it exits.
restartThrottle  int      10000     Milliseconds to wait before restarting.
logStdErr        bool     false     Log the command's stderr lines (else they are discarded).
batchSize        int      20        Lines per channel transaction.
batchTimeout     int      3000      Milliseconds before a partial batch is flushed.
charset          charset  UTF-8     Encoding of the command's output.
===============  =======  ========  ==============================================================

One event per line, line ending (``\\n`` or ``\\r\\n``) removed, no headers.  stdout is read in large
chunks and split in bulk.  When the channel is full the same batch is retried with backoff; the
command's output pipe then fills up and the command blocks, so nothing is lost.  When the command
exits, the remaining lines are flushed and the exit code is logged; with ``restart`` it runs again
after ``restartThrottle``.  stop() terminates the command's whole process group.
"""

from __future__ import annotations

import codecs
import logging
import os
import selectors
import signal
import subprocess
import threading
import time
from typing import IO

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop
from flumepy.core.delivery import deliver
from flumepy.core.event import EventBatch

log = logging.getLogger(__name__)

READ_SIZE = 1 << 20
POLL = 0.5  # longest wait between checks of the stop flag
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL on stop


class ExecSource(EventDrivenSource):
    """Runs ``command`` (optionally through ``shell``) and emits its stdout lines."""

    TYPE_NAME = "exec"

    PROPS = (
        Prop("command", "string", None, "The command to run.", required=True),
        Prop("shell", "string", None, "Shell to run the command with, e.g. /bin/sh -c."),
        Prop("restart", "bool", False, "Run the command again when it exits."),
        Prop("restartThrottle", "int", 10000, "Milliseconds to wait before restarting the command.", min=0),
        Prop("logStdErr", "bool", False, "Log the command's stderr lines."),
        Prop("batchSize", "int", 20, "Lines per channel transaction.", min=1),
        Prop("batchTimeout", "int", 3000, "Milliseconds before a partial batch is flushed.", min=0),
        Prop("charset", "charset", "utf-8", "Character encoding of the command's output."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.command = ""
        self.argv: list[str] = []
        self.batch_size = 20
        self.charset = "utf-8"
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._proc_lock = threading.Lock()
        self.runs = 0  # how many times the command was started

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        command = s["command"].strip()
        if not command:
            raise ctx.error("command", "is required (the command to run)")
        self.command = command
        shell = (s["shell"] or "").split()
        self.argv = [*shell, command] if shell else command.split()
        self.batch_size = s["batchSize"]
        self.charset = codecs.lookup(s["charset"]).name
        self.restart = s["restart"]
        self.restart_throttle = s["restartThrottle"] / 1000.0
        self.batch_timeout = s["batchTimeout"] / 1000.0
        self.log_stderr = s["logStdErr"]
        # Splitting raw bytes on b"\n" is right only when the charset encodes "\n" and "\r" as ASCII.
        self._byte_lines = "\r\n".encode(self.charset) == b"\r\n"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"exec-{self.name}", daemon=True)
        self._thread.start()
        super().start()
        log.info("exec source %s started: %s", self.name, self._describe())

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            if self.lifecycle == "START":
                super().stop()
            return
        self._stopping.set()
        with self._proc_lock:
            proc = self._proc
        if proc is not None:
            _terminate(proc)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("exec source %s: reader thread did not stop within %.1fs", self.name, timeout)
        self._thread = None
        super().stop()
        log.info("exec source %s stopped", self.name)

    def _describe(self) -> str:
        return f"command [{self.command}]" + (f" via shell [{self.settings['shell'].strip()}]"
                                              if self.settings.get("shell") else "")

    # -- running the command ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._run_once()
            except Exception:
                self.counters.values["GenericProcessingFail"] += 1
                log.exception("exec source %s: failed while running %s", self.name, self._describe())
            if not self.restart or self._stopping.is_set():
                break
            log.info("exec source %s: restarting %s in %d ms", self.name, self._describe(),
                     int(self.restart_throttle * 1000))
            if self._stopping.wait(self.restart_throttle):
                break

    def _run_once(self) -> None:
        try:
            proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if self.log_stderr else subprocess.DEVNULL,
                bufsize=0, start_new_session=True,
            )
        except OSError as e:
            log.error("exec source %s: cannot run %s: %s", self.name, self._describe(), e.strerror or e)
            return
        with self._proc_lock:
            self._proc = proc
        if self._stopping.is_set():  # stop() ran between the check in _run and Popen
            _terminate(proc)
        self.runs += 1
        log.debug("exec source %s: started pid %d", self.name, proc.pid)
        err_thread = None
        if proc.stderr is not None:
            err_thread = threading.Thread(target=self._log_stderr, args=(proc.stderr,),
                                          name=f"exec-{self.name}-stderr", daemon=True)
            err_thread.start()
        clean = False
        try:
            assert proc.stdout is not None
            self._pump(proc.stdout)
            clean = True
        finally:
            if (self._stopping.is_set() or not clean) and proc.poll() is None:
                _terminate(proc)
            rc = proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            if err_thread is not None:
                err_thread.join(2.0)
            with self._proc_lock:
                self._proc = None
        if self._stopping.is_set():
            log.info("exec source %s: %s stopped (exit code %d)", self.name, self._describe(), rc)
        elif rc == 0:
            log.info("exec source %s: %s exited with 0", self.name, self._describe())
        else:
            hint = " (command not found)" if rc == 127 else ""
            log.warning("exec source %s: %s exited with %d%s", self.name, self._describe(), rc, hint)

    def _log_stderr(self, stream: IO[bytes]) -> None:
        n = 0
        with stream:
            for raw in stream:
                n += 1
                line = raw.decode(self.charset, "replace").rstrip("\r\n")
                log.info("exec source %s: StderrLogger[%d] = '%s'", self.name, n, line)

    def _pump(self, stream: IO[bytes]) -> None:
        """Read stdout to EOF in big chunks; flush full batches at once, partial ones after batchTimeout."""
        fd = stream.fileno()
        bs = self.batch_size
        timeout = self.batch_timeout
        stopping = self._stopping
        decoder = None if self._byte_lines else codecs.getincrementaldecoder(self.charset)(errors="replace")
        tail: bytes | str = b"" if decoder is None else ""
        pending: list[bytes] = []
        deadline = 0.0
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while True:
                wait = POLL
                if pending:
                    wait = min(POLL, max(0.0, deadline - time.monotonic()))
                if sel.select(wait):
                    chunk = os.read(fd, READ_SIZE)
                    if not chunk:
                        break
                    if decoder is None:
                        lines, tail = self._split_bytes(tail + chunk if tail else chunk)  # type: ignore[operator,arg-type]
                    else:
                        text = tail + decoder.decode(chunk)  # type: ignore[operator,arg-type]
                        lines, tail = self._split_text(text)  # type: ignore[arg-type]
                    if lines:
                        fresh = not pending
                        if pending:
                            lines = pending + lines
                        n = len(lines)
                        full = n - n % bs
                        for i in range(0, full, bs):
                            if not self._flush(lines[i:i + bs]):
                                return
                        pending = lines[full:] if full < n else []
                        if pending and (fresh or full):
                            deadline = time.monotonic() + timeout
                elif pending and (stopping.is_set() or time.monotonic() >= deadline):
                    if not self._flush(pending):
                        return
                    pending = []
                elif stopping.is_set() and not pending:
                    # The command was told to stop; don't wait for a pipe someone else may hold open.
                    with self._proc_lock:
                        proc = self._proc
                    if proc is None or proc.poll() is not None:
                        break
            if tail:
                # Last line without a newline (Java's readLine returns it too).
                if decoder is None:
                    pending.extend(self._split_bytes(tail + b"\n")[0])  # type: ignore[operator,arg-type]
                else:
                    rest = tail + decoder.decode(b"", final=True)  # type: ignore[operator,arg-type]
                    pending.extend(self._split_text(rest + "\n")[0])  # type: ignore[operator,arg-type]
            while pending:
                if not self._flush(pending[:bs]):
                    return
                pending = pending[bs:]
        finally:
            sel.close()

    def _split_bytes(self, data: bytes) -> tuple[list[bytes], bytes]:
        lines = data.split(b"\n")
        tail = lines.pop()
        if not lines:
            return lines, tail
        if b"\r" in data:
            lines = [ln[:-1] if ln[-1:] == b"\r" else ln for ln in lines]
        if data.isascii():
            return lines, tail  # valid in every charset that spells "\r\n" as ASCII
        try:
            # One check for the whole chunk; "\n" never occurs inside a multi-byte character.
            data[:len(data) - len(tail)].decode(self.charset)
        except UnicodeDecodeError:
            cs = self.charset
            lines = [ln.decode(cs, "replace").encode(cs, "replace") for ln in lines]
            self.counters.values["EventReadFail"] += 1
        return lines, tail

    def _split_text(self, text: str) -> tuple[list[bytes], str]:
        parts = text.split("\n")
        tail = parts.pop()
        cs = self.charset
        return [(p[:-1] if p.endswith("\r") else p).encode(cs, "replace") for p in parts], tail

    def _flush(self, lines: list[bytes]) -> bool:
        """Deliver one batch; False only if the source stopped before the channel took it."""
        c = self.counters.values
        n = len(lines)
        c["EventReceivedCount"] += n
        c["AppendBatchReceivedCount"] += 1
        failure = deliver(self, EventBatch(lines), self._stopping)  # events made only if a sink needs them
        if failure is None:
            return True
        log.error("exec source %s: stopping with %d lines not delivered: %s", self.name, n, failure)
        return False


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, SIGKILL it if it is still there after KILL_GRACE."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        proc.wait(KILL_GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
