"""End to end from a config file: seq -> interceptor chain -> multiplexing selector -> channels."""

from __future__ import annotations

import re

from flumepy.agent import Agent, load_agent_spec
from flumepy.core.event import Event
from tests.util import run_cli, wait_until, write_conf

# Backslashes are doubled as in any Java .properties file (Flume's docs write regexes this way).
CONF = r"""
a1.sources = r1
a1.channels = even odd rest
a1.channels.even.type = memory
a1.channels.odd.type = memory
a1.channels.rest.type = memory

a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 20
a1.sources.r1.batchSize = 5
a1.sources.r1.channels = even odd rest
a1.sources.r1.interceptors = drop ev od kind tmp untmp ts id

a1.sources.r1.interceptors.drop.type = regex_filter
a1.sources.r1.interceptors.drop.regex = ^1[0-4]$
a1.sources.r1.interceptors.drop.excludeEvents = true
a1.sources.r1.interceptors.ev.type = search_replace
a1.sources.r1.interceptors.ev.searchPattern = ^(\\d*[02468])$
a1.sources.r1.interceptors.ev.replaceString = even-$1
a1.sources.r1.interceptors.od.type = org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder
a1.sources.r1.interceptors.od.searchPattern = ^(\\d*[13579])$
a1.sources.r1.interceptors.od.replaceString = odd-$1
a1.sources.r1.interceptors.kind.type = regex_extractor
a1.sources.r1.interceptors.kind.regex = ^(\\w+)-(\\d+)
a1.sources.r1.interceptors.kind.serializers = k n
a1.sources.r1.interceptors.kind.serializers.k.name = kind
a1.sources.r1.interceptors.kind.serializers.n.name = number
a1.sources.r1.interceptors.tmp.type = static
a1.sources.r1.interceptors.tmp.key = scratch
a1.sources.r1.interceptors.untmp.type = remove_header
a1.sources.r1.interceptors.untmp.withName = scratch
a1.sources.r1.interceptors.ts.type = org.apache.flume.interceptor.TimestampInterceptor$Builder
a1.sources.r1.interceptors.id.type = uuid
a1.sources.r1.interceptors.id.prefix = seq-

a1.sources.r1.selector.type = multiplexing
a1.sources.r1.selector.header = kind
a1.sources.r1.selector.mapping.even = even
a1.sources.r1.selector.mapping.odd = odd
a1.sources.r1.selector.optional.odd = rest
a1.sources.r1.selector.default = rest
"""


def drain(channel) -> list[Event]:
    with channel.transaction() as tx:
        return tx.take_batch(1000)


def test_interceptors_and_multiplexing_from_config(tmp_path, registry):
    conf = write_conf(tmp_path, CONF)
    agent = Agent(registry, drain_timeout=0)
    topo, problems = agent.build(load_agent_spec(str(conf), "a1"))
    assert [p for p in problems if p.level == "error"] == []
    agent.start(topo)
    try:
        chans = topo.channels
        wait_until(lambda: chans["even"].size() + chans["odd"].size() == 15, what="15 events routed")
        wait_until(lambda: chans["rest"].size() == 8, what="8 optional copies in rest")
        got = {name: drain(ch) for name, ch in chans.items()}
    finally:
        agent.stop()
    assert [e.body for e in got["even"]] == [f"even-{i}".encode() for i in (0, 2, 4, 6, 8, 16, 18)]
    assert [e.body for e in got["odd"]] == [f"odd-{i}".encode() for i in (1, 3, 5, 7, 9, 15, 17, 19)]
    assert [e.body for e in got["rest"]] == [e.body for e in got["odd"]]  # optional copies
    for e in got["even"] + got["odd"]:
        kind, number = e.body.decode().split("-")
        assert set(e.headers) == {"kind", "number", "timestamp", "id"}
        assert (e.headers["kind"], e.headers["number"]) == (kind, number)
        assert re.fullmatch(r"\d{13}", e.headers["timestamp"])
        assert re.fullmatch(r"seq-[0-9a-f-]{36}", e.headers["id"])
    assert len({e.headers["id"] for e in got["even"] + got["odd"]}) == 15


def test_check_reports_unknown_mapped_channel(tmp_path):
    conf = write_conf(tmp_path, CONF.replace("mapping.odd = odd", "mapping.odd = odd0"))
    res = run_cli("check", "-n", "a1", "-f", str(conf))
    assert res.returncode != 0
    assert "a1.sources.r1.selector.mapping.odd: odd0 not among this source's channels (even, odd, rest)" \
        in res.stdout + res.stderr
