"""netcat source: lines in over TCP, events in the channel, OK only after the commit."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError, FlumeError
from flumepy.sources.netcat import NetcatSource
from tests.sources.conftest import Wired
from tests.util import AgentProcess, free_port, wait_until, write_conf


class Client:
    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=15)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def replies(self, n: int) -> list[bytes]:
        """The next n reply lines (waits for them; the socket timeout guards against hangs)."""
        while self.buf.count(b"\n") < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {self.buf!r}")
            self.buf += chunk
        lines = self.buf.split(b"\n")
        out, rest = lines[:n], lines[n:]
        self.buf = b"\n".join(rest)
        return out

    def pending(self) -> bytes:
        """Whatever has already arrived and not been read, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except BlockingIOError:
            pass
        finally:
            self.sock.settimeout(15)
        return self.buf

    def close(self) -> None:
        self.sock.close()


def started(wire: Callable[..., Wired], **kw: object) -> Wired:
    settings = {"bind": "127.0.0.1", "port": "0"}
    settings.update(kw.pop("settings", {}))  # type: ignore[arg-type]
    w = wire(NetcatSource, settings, **kw)
    w.source.start()
    return w


def test_each_line_is_an_event_acked_with_ok(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    c = Client(w.source.address)
    c.send(b"hello\nworld\r\n\nlast line\n")
    assert c.replies(4) == [b"OK"] * 4
    assert w.bodies() == [b"hello", b"world", b"", b"last line"]
    v = w.source.counters.values
    assert v["EventReceivedCount"] == 4 and v["EventAcceptedCount"] == 4
    assert v["OpenConnectionCount"] == 1
    c.close()
    wait_until(lambda: v["OpenConnectionCount"] == 0, what="connection closed")


def test_line_split_across_packets_and_unterminated_tail(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    c = Client(w.source.address)
    c.send(b"hel")
    c.send(b"lo\nwor")
    assert c.replies(1) == [b"OK"]
    c.send(b"ld\nno newline")
    assert c.replies(1) == [b"OK"]
    c.close()
    wait_until(lambda: w.source.counters.values["OpenConnectionCount"] == 0, what="connection closed")
    assert w.bodies() == [b"hello", b"world"]  # an unterminated last line is not an event (Flume)


def test_many_concurrent_clients_keep_their_order(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    n_clients, n_lines = 20, 200
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            c = Client(w.source.address)
            data = b"".join(b"c%d-%d\n" % (k, i) for i in range(n_lines))
            c.send(data)
            assert c.replies(n_lines) == [b"OK"] * n_lines
            c.close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    bodies = w.bodies()
    assert len(bodies) == n_clients * n_lines
    for k in range(n_clients):
        mine = [b for b in bodies if b.startswith(b"c%d-" % k)]
        assert mine == [b"c%d-%d" % (k, i) for i in range(n_lines)]
    assert w.source.counters.values["EventAcceptedCount"] == n_clients * n_lines


def test_more_lines_at_once_than_a_transaction_holds(wire: Callable[..., Wired]) -> None:
    w = started(wire, transaction_capacity=7)
    c = Client(w.source.address)
    c.send(b"".join(b"%d\n" % i for i in range(1000)))
    assert c.replies(1000) == [b"OK"] * 1000
    assert w.bodies() == [b"%d" % i for i in range(1000)]


def test_over_long_line_fails_and_connection_stays_usable(wire: Callable[..., Wired]) -> None:
    w = started(wire, settings={"max-line-length": "10"})
    c = Client(w.source.address)
    # 9 chars + newline fits exactly; 10 chars + newline does not.
    c.send(b"123456789\n" + b"x" * 10 + b"\n" + b"after\n")
    assert c.replies(3) == [
        b"OK", b"FAILED: Event exceeds the maximum length (10 chars, including newline)", b"OK"]
    # A long line arriving in pieces: FAILED as soon as it is too long, the rest of it is skipped.
    c.send(b"y" * 25)
    assert c.replies(1) == [b"FAILED: Event exceeds the maximum length (10 chars, including newline)"]
    c.send(b"y" * 100 + b"\nnext\n")
    assert c.replies(1) == [b"OK"]
    assert w.bodies() == [b"123456789", b"after", b"next"]
    assert w.source.counters.values["EventReadFail"] == 2


def test_over_long_line_does_not_affect_other_clients(wire: Callable[..., Wired]) -> None:
    w = started(wire, settings={"max-line-length": "8"})
    a, b = Client(w.source.address), Client(w.source.address)
    a.send(b"z" * 5000)
    assert a.replies(1)[0].startswith(b"FAILED: Event exceeds")
    b.send(b"fine\n")
    assert b.replies(1) == [b"OK"]
    a.send(b"zz\nok\n")
    assert a.replies(1) == [b"OK"]
    assert w.bodies() == [b"fine", b"ok"]


def test_invalid_bytes_are_replaced_not_fatal(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    c = Client(w.source.address)
    c.send(b"bad \xff\xfe bytes\ncaf\xc3\xa9\n")
    assert c.replies(2) == [b"OK", b"OK"]
    assert w.bodies() == ["bad \ufffd\ufffd bytes".encode(), "café".encode()]


def test_encoding_decodes_input_and_bodies_are_utf8(wire: Callable[..., Wired]) -> None:
    w = started(wire, settings={"encoding": "ISO-8859-1"})
    c = Client(w.source.address)
    c.send(b"caf\xe9\n")
    assert c.replies(1) == [b"OK"]
    assert w.bodies() == ["café".encode()]


def test_no_ok_when_ack_every_event_is_false(wire: Callable[..., Wired]) -> None:
    w = started(wire, settings={"ack-every-event": "false", "max-line-length": "5"})
    c = Client(w.source.address)
    c.send(b"a\nb\ntoolong\nc\n")
    # Only the error is reported; the events themselves are not acknowledged.
    assert c.replies(1) == [b"FAILED: Event exceeds the maximum length (5 chars, including newline)"]
    wait_until(lambda: w.source.counters.values["EventAcceptedCount"] == 3, what="3 events accepted")
    assert c.pending() == b""
    assert w.bodies() == [b"a", b"b", b"c"]


def test_full_channel_holds_ok_back_until_there_is_room(wire: Callable[..., Wired]) -> None:
    w = started(wire, capacity=5, transaction_capacity=5)
    c = Client(w.source.address)
    c.send(b"".join(b"line%d\n" % i for i in range(12)))
    assert c.replies(5) == [b"OK"] * 5
    v = w.source.counters.values
    wait_until(lambda: v["ChannelWriteFail"] > 0, what="a put that failed on the full channel")
    assert c.pending() == b""  # the next batch is not acknowledged: it is not in the channel
    got = w.take(5)
    assert c.replies(5) == [b"OK"] * 5
    got += w.take(5)
    assert c.replies(2) == [b"OK"] * 2
    got += w.take(5)
    assert [e.body for e in got] == [b"line%d" % i for i in range(12)]
    assert v["EventAcceptedCount"] == 12


def test_stop_while_channel_full_tells_client_failed(wire: Callable[..., Wired]) -> None:
    w = started(wire, capacity=2, transaction_capacity=2)
    c = Client(w.source.address)
    c.send(b"a\nb\nc\nd\n")
    assert c.replies(2) == [b"OK", b"OK"]
    wait_until(lambda: w.source.counters.values["ChannelWriteFail"] > 0, what="a failed put")
    w.source.stop()
    failed = c.replies(2)
    assert all(r.startswith(b"FAILED: ") and b"full" in r for r in failed), failed
    assert w.bodies() == [b"a", b"b"]


def test_port_in_use_is_a_clear_start_error(wire: Callable[..., Wired]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        w = wire(NetcatSource, {"bind": "127.0.0.1", "port": str(port)})
        with pytest.raises(FlumeError, match=rf"cannot listen on 127\.0\.0\.1:{port}: Address already in use"):
            w.source.start()
        w.source.stop()  # harmless after a failed start


def test_stop_is_idempotent_and_closes_clients(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    c = Client(w.source.address)
    c.send(b"x\n")
    assert c.replies(1) == [b"OK"]
    w.source.stop()
    w.source.stop()
    assert c.sock.recv(10) == b""
    with pytest.raises(OSError):
        socket.create_connection(w.source.address, timeout=2).close()


@pytest.mark.parametrize("settings,key", [
    ({"bind": "127.0.0.1"}, "a1.sources.r1.port"),
    ({"port": "1234"}, "a1.sources.r1.bind"),
    ({"bind": "127.0.0.1", "port": "99999"}, "a1.sources.r1.port"),
    ({"bind": "127.0.0.1", "port": "1", "max-line-length": "0"}, "a1.sources.r1.max-line-length"),
    ({"bind": "127.0.0.1", "port": "1", "encoding": "no-such-charset"}, "a1.sources.r1.encoding"),
])
def test_bad_settings_name_the_key(wire: Callable[..., Wired], settings: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        wire(NetcatSource, settings)


# -- end to end, through the CLI ----------------------------------------------------------------
def _conf(tmp_path: Path, port: int, sink: str, capacity: int = 1000) -> Path:
    return write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = netcat
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = {capacity}
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.channel = c1
        {sink}
        """)


def test_agent_netcat_to_file_roll(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    conf = _conf(tmp_path, port, f"""
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        """)
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent.wait_for_output(rf"netcat source r1 listening on 127\.0\.0\.1:{port}")
    c = Client(("127.0.0.1", port))
    n = 2000
    c.send(b"".join(b"event %d\n" % i for i in range(n)))
    assert c.replies(n) == [b"OK"] * n
    c.close()
    assert agent.terminate() == 0
    data = b"".join(p.read_bytes() for p in sorted(out.iterdir()))
    assert data == b"".join(b"event %d\n" % i for i in range(n))


def test_agent_port_in_use_logs_the_port(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conf = _conf(tmp_path, port, "a1.sinks.k1.type = null")
        agent = agent_process(conf, "a1", ["--no-reload-conf"]).start()
        agent.wait_for_output(rf"source r1 failed to start: .*cannot listen on 127\.0\.0\.1:{port}: "
                              r"Address already in use")
        agent.wait_started()
        assert agent.terminate() == 0
