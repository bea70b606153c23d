"""flumepy.agent.tune_runtime: the interpreter settings of an agent process (checked in a child
process: they are process-wide)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("import logging, sys; logging.basicConfig(); from flumepy.agent import tune_runtime; tune_runtime(); "
         "import gc; print(sys.getswitchinterval(), gc.get_threshold()[0])")


def _probe(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FLUMEPY_SWITCH_INTERVAL"}
    if value is not None:
        env["FLUMEPY_SWITCH_INTERVAL"] = value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60,
                          check=True)


def test_defaults_and_a_valid_override() -> None:
    assert _probe(None).stdout.split() == ["0.001", "50000"]
    assert _probe("0.005").stdout.split()[0] == "0.005"


@pytest.mark.parametrize("bad", ["fast", "0", "-1", "5"])
def test_a_bad_switch_interval_is_a_warning_naming_the_variable_not_a_crash(bad: str) -> None:
    out = _probe(bad)
    assert out.stdout.split()[0] == "0.001"
    assert f"FLUMEPY_SWITCH_INTERVAL={bad!r} is not a number of seconds between 0 and 1" in out.stderr
