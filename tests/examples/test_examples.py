"""Every shipped config (conf/, examples/) passes `flumepy check --strict`, and the routing example
really routes: run it and look at the files it writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.util import AgentProcess, run_cli, wait_until

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted([*ROOT.glob("conf/*.conf"), *ROOT.glob("examples/*.conf")])


@pytest.mark.parametrize("conf", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_config_checks_clean(conf: Path) -> None:
    r = run_cli("check", "-f", str(conf), "--strict")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 error(s), 0 warning(s)" in r.stdout


def test_routing_example_splits_errors_from_the_rest(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "routing.conf", tmp_path / "routing.conf")
    agent = AgentProcess(tmp_path / "routing.conf", "router", ["--no-reload-conf"], cwd=str(tmp_path)).start()
    try:
        agent.wait_started()

        def lines(sub: str) -> list[str]:
            d = tmp_path / "out" / "router" / sub
            return [ln for f in sorted(d.glob("*")) for ln in f.read_text().splitlines()] if d.exists() else []

        wait_until(lambda: len(lines("rest")) == 20 and len(lines("errors")) == 4, 20, what="all 24 lines")
    finally:
        assert agent.terminate() == 0
    errors = lines("errors")
    assert [e.split("} ", 1)[1] for e in errors] == [f"ERROR at step {i}" for i in (0, 5, 10, 15)]
    assert all("level=ERROR" in e and "timestamp=" in e for e in errors)
    assert lines("rest") == [f"INFO step {i}" for i in range(20)]


def test_readme_demo_runs_and_writes_files(tmp_path: Path) -> None:
    """The README's first command: conf/demo.conf moves events to ./out/demo with no cluster."""
    import socket

    from tests.util import free_port

    port = free_port()
    text = (ROOT / "conf" / "demo.conf").read_text().replace("port = 44444", f"port = {port}")
    (tmp_path / "demo.conf").write_text(text)
    agent = AgentProcess(tmp_path / "demo.conf", "demo", ["--no-reload-conf"], cwd=str(tmp_path)).start()
    try:
        agent.wait_started()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"typed by a person\n")
            assert s.recv(10) == b"OK\n"
        out = tmp_path / "out" / "demo"

        def text_out() -> str:
            return "".join(f.read_text() for f in sorted(out.glob("*"))) if out.exists() else ""

        wait_until(lambda: "tick 3" in text_out() and "typed by a person" in text_out(), 20,
                   what="ticks and the typed line in out/demo")
    finally:
        assert agent.terminate() == 0
    written = text_out()
    assert "{} typed by a person\n" in written  # the netcat source adds no headers
    tick0 = next(line for line in written.splitlines() if line.endswith("} tick 0"))
    assert "source=ticker" in tick0 and "timestamp=" in tick0
