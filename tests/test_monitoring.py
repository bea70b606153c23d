"""HTTP monitoring of a running agent: Flume's /metrics JSON, Prometheus text, forbidden methods."""

from __future__ import annotations

import http.client
import json
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.util import AgentProcess, free_port, wait_until, write_conf

SEQ_TO_NULL = """
    a1.sources = r1
    a1.channels = c1
    a1.sinks = k1
    a1.sources.r1.type = seq
    a1.sources.r1.totalEvents = 100
    a1.sources.r1.batchSize = 10
    a1.sources.r1.channels = c1
    a1.channels.c1.type = memory
    a1.channels.c1.capacity = 1000
    a1.sinks.k1.type = null
    a1.sinks.k1.channel = c1
"""


def get(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()
    finally:
        conn.close()


def metrics(port: int) -> dict[str, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def monitored_agent(agent_process: type[AgentProcess], conf: Path, port: int, *extra: str) -> AgentProcess:
    agent = agent_process(conf, "a1", ["--no-reload-conf", "-Dflume.monitoring.type=http",
                                       f"-Dflume.monitoring.port={port}",
                                       "-Dflume.monitoring.bind=127.0.0.1", *extra]).start()
    agent.wait_for_output(rf"serving metrics on http://127\.0\.0\.1:{port}/metrics")
    return agent


@pytest.fixture
def running(agent_process: type[AgentProcess], tmp_path: Path) -> tuple[AgentProcess, int]:
    port = free_port()
    agent = monitored_agent(agent_process, write_conf(tmp_path, SEQ_TO_NULL), port)
    wait_until(lambda: metrics(port).get("SINK.k1", {}).get("EventDrainSuccessCount") == "100",
               what="the null sink to drain 100 events")
    return agent, port


def test_metrics_json_has_flume_counters_as_strings(running: tuple[AgentProcess, int]) -> None:
    agent, port = running
    status, ctype, body = get(port, "/metrics")
    assert status == 200
    assert ctype.startswith("application/json")
    m = json.loads(body)
    assert set(m) == {"SOURCE.r1", "CHANNEL.c1", "SINK.k1"}
    assert all(isinstance(v, str) for attrs in m.values() for v in attrs.values())
    ch = m["CHANNEL.c1"]
    assert ch["Type"] == "CHANNEL"
    assert ch["EventPutSuccessCount"] == "100"
    assert ch["EventTakeSuccessCount"] == "100"
    assert ch["ChannelSize"] == "0"
    assert ch["ChannelCapacity"] == "1000"
    assert m["SOURCE.r1"]["EventAcceptedCount"] == "100"
    assert m["SOURCE.r1"]["AppendBatchAcceptedCount"] == "10"
    assert m["SINK.k1"]["EventDrainSuccessCount"] == "100"
    assert int(m["SINK.k1"]["StartTime"]) > 0
    assert agent.terminate() == 0


def test_prometheus_text_parses(running: tuple[AgentProcess, int]) -> None:
    _, port = running
    status, ctype, body = get(port, "/metrics/prometheus")
    assert status == 200
    assert ctype.startswith("text/plain") and "version=" in ctype
    samples = {(s.name, s.labels.get("component")): s.value
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    assert samples[("flume_channel_channel_size", "c1")] == 0
    assert samples[("flume_channel_channel_capacity", "c1")] == 1000
    assert samples[("flume_channel_event_put_success_count_total", "c1")] == 100
    assert samples[("flume_source_event_accepted_count_total", "r1")] == 100
    assert samples[("flume_sink_event_drain_success_count_total", "k1")] == 100


def test_index_page_and_forbidden_methods(running: tuple[AgentProcess, int]) -> None:
    _, port = running
    status, ctype, body = get(port, "/")
    assert status == 200 and ctype.startswith("text/html")
    assert b'href="/metrics"' in body
    assert get(port, "/metrics", "TRACE")[0] == 403
    assert get(port, "/metrics", "OPTIONS")[0] == 403
    assert get(port, "/nothing-here")[0] == 404


def test_flume_class_name_is_accepted(agent_process: type[AgentProcess], tmp_path: Path) -> None:
    port = free_port()
    conf = write_conf(tmp_path, SEQ_TO_NULL)
    agent = agent_process(conf, "a1", [
        "--no-reload-conf", "-Dflume.monitoring.type=org.apache.flume.instrumentation.http.HTTPMetricsServer",
        f"-Dflume.monitoring.port={port}", "-Dflume.monitoring.bind=127.0.0.1"]).start()
    agent.wait_for_output(rf"serving metrics on http://127\.0\.0\.1:{port}/metrics")
    assert "CHANNEL.c1" in metrics(port)
    assert agent.terminate() == 0


def test_unsupported_monitoring_type_warns_and_agent_runs(agent_process: type[AgentProcess],
                                                          tmp_path: Path) -> None:
    conf = write_conf(tmp_path, SEQ_TO_NULL)
    agent = agent_process(conf, "a1", ["--no-reload-conf", "-Dflume.monitoring.type=ganglia"]).start()
    agent.wait_started()
    agent.wait_for_output(r"WARNING .*flume\.monitoring\.type=ganglia is not supported by flumepy .*"
                          r"no monitoring server started")
    assert agent.proc is not None and agent.proc.poll() is None
    assert agent.terminate() == 0
