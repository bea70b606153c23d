"""``flumepy graph``: the topology as text, dot and mermaid, also for configs with errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy.agent import load_agent_spec
from flumepy.graph import render
from tests.util import run_cli, write_conf

CONF = """
    a1.sources = r1 r2
    a1.channels = c1 c2
    a1.sinks = k1 k2 k3
    a1.sources.r1.type = netcat
    a1.sources.r1.channels = c1 c2
    a1.sources.r1.interceptors = ts h
    a1.sources.r1.interceptors.ts.type = timestamp
    a1.sources.r1.interceptors.h.type = host
    a1.sources.r1.selector.type = multiplexing
    a1.sources.r1.selector.header = state
    a1.sources.r1.selector.mapping.CA = c1
    a1.sources.r1.selector.mapping.NY = c2
    a1.sources.r1.selector.default = c1
    a1.sources.r2.type = seq
    a1.sources.r2.channels = c1 c9
    a1.channels.c1.type = memory
    a1.channels.c2.type = memroy
    a1.sinks.k1.type = logger
    a1.sinks.k1.channel = c1
    a1.sinks.k2.type = null
    a1.sinks.k2.channel = c2
    a1.sinks.k3.type = file_roll
    a1.sinks.k3.channel = c2
    a1.sinkgroups = g1
    a1.sinkgroups.g1.sinks = k2 k3
    a1.sinkgroups.g1.processor.type = failover
"""


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    return write_conf(tmp_path, CONF)


def test_text(conf: Path) -> None:
    out = render(load_agent_spec(str(conf), "a1"), "text")
    assert out == f"""agent a1 ({conf})
source r1 [netcat]
  interceptors: ts [timestamp] -> h [host]
  selector: multiplexing on header state
  -> channel c1 [memory]  [state=CA, default]
       -> sink k1 [logger]
  -> channel c2 [memroy]  [state=NY]
       -> sink k2 [null] in group g1 [failover]
       -> sink k3 [file_roll] in group g1 [failover]
source r2 [seq]
  selector: replicating
  -> channel c1 [memory]
       -> sink k1 [logger]
  -> channel c9 (not declared)
sink group g1 [failover]: k2, k3"""


def test_dot(conf: Path) -> None:
    out = render(load_agent_spec(str(conf), "a1"), "dot")
    assert out.startswith('digraph "a1" {\n  rankdir=LR;')
    assert out.endswith("}")
    assert '"source:r1" [label="r1\\nnetcat\\ninterceptors: ts (timestamp), h (host)\\n' \
           'selector: multiplexing on header state", shape=box, style=rounded];' in out
    assert '"channel:c1" [label="c1\\nmemory", shape=cylinder];' in out
    assert '"source:r1" -> "channel:c2" [label="state=NY"];' in out
    assert '"channel:c9" [label="c9\\n(not declared)", shape=box, style=dashed];' in out
    assert '"channel:c2" -> "sink:k3";' in out
    cluster = out[out.index('subgraph "cluster_0"'):]
    assert 'label="sink group g1 (failover)"' in cluster
    assert cluster.index('"sink:k2"') < cluster.index("}") and cluster.index('"sink:k3"') < cluster.index("}")
    assert out.count("{") == out.count("}")


def test_mermaid(conf: Path) -> None:
    out = render(load_agent_spec(str(conf), "a1"), "mermaid")
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  channel_c1[("c1<br/>memory")]' in lines
    assert '  subgraph group_g1["sink group g1 (failover)"]' in lines
    assert '    sink_k2["k2<br/>null"]' in lines
    assert '  source_r1 -->|"state=CA, default"| channel_c1' in lines
    assert '  channel_c9["c9<br/>(not declared)"]' in lines
    assert "  channel_c2 --> sink_k3" in lines
    assert lines.count("  end") == 1


def test_sinks_without_source_and_broken_references(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, """
        a1.channels = c1
        a1.sinks = k1 k2
        a1.sinks.k1.type = null
        a1.sinks.k1.channel = c1
        a1.sinks.k2.type = logger
        a1.sinks.k2.channel = nope
        a1.sinkgroups = g
        a1.sinkgroups.g.sinks = k1 ghost
    """)
    out = render(load_agent_spec(str(conf), "a1"), "text")
    assert "channel c1 [type missing] (no source)\n  -> sink k1 [null] in group g [default]" in out
    assert "sink k2 [logger] <- channel nope (not declared)" in out
    assert "sink group g [default]: k1, ghost (not declared)" in out


def test_cli_graph(conf: Path) -> None:
    r = run_cli("graph", "-n", "a1", "-f", str(conf), "--format", "mermaid")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("flowchart LR\n")
    with pytest.raises(ValueError, match="unknown graph format 'svg'"):
        render(load_agent_spec(str(conf), "a1"), "svg")
