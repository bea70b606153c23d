"""examples/kafka-to-hdfs.conf as docs/tutorial.md runs it: a real broker and HDFS, messages produced
while the agent runs, and `flumepy hdfs tail -f` showing them as the sink writes and rolls files."""

from __future__ import annotations

import uuid
from pathlib import Path

import tests.test_hdfs_tools as tools
from flumepy.fs import filesystem_for
from tests.kafka.conftest import fast_consumer, unique
from tests.util import wait_until, write_conf

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kafka-to-hdfs.conf"


def test_tutorial_example_kafka_to_hdfs_followed_by_hdfs_tail(kafka_broker, hdfs_cluster, agent_process,
                                                             tmp_path: Path) -> None:
    topic = kafka_broker.create_topic(unique("tutorial"))
    out_dir = f"/tutorial-{uuid.uuid4().hex[:10]}/flumedata"
    text = EXAMPLE.read_text()
    for old, new in (("127.0.0.1:9092", kafka_broker.bootstrap), ("kafka.topics = test", f"kafka.topics = {topic}"),
                     ("hdfs://127.0.0.1:8020/flumedata", hdfs_cluster.namenode_url + out_dir)):
        assert old in text
        text = text.replace(old, new)
    text += fast_consumer("agent.sources.kafkaSource.")  # Tansu joins groups in half of session.timeout.ms
    conf = write_conf(tmp_path, text, "kafka-to-hdfs.conf")
    fs, _ = filesystem_for(hdfs_cluster.namenode_url)
    agent = agent_process(conf, "agent", ["--no-reload-conf"], cwd=str(tmp_path)).start()
    follower = None
    try:
        agent.wait_for_output(rf"kafka source kafkaSource: assigned partitions {topic}-0", 60)
        first = [f"message {i}" for i in range(5)]
        kafka_broker.produce(topic, [m.encode() for m in first])
        wait_until(lambda: fs.exists(out_dir), 30, what=f"{out_dir} created by the sink")
        follower = tools.Follower("--webhdfs", f"127.0.0.1:{hdfs_cluster.http_port}",
                                  hdfs_cluster.namenode_url + out_dir)
        follower.wait_lines(first, 30)  # read from the open FlumeData.<n>.tmp
        # rollInterval = 5: the file is closed and renamed; the next messages go to a new file
        wait_until(lambda: [f.path for f in fs.list(out_dir) if f.path.endswith(".tmp")] == [], 30,
                   what="the first file rolled")
        more = [f"message {i}" for i in range(5, 12)]
        kafka_broker.produce(topic, [m.encode() for m in more])
        follower.wait_lines(first + more, 30)
    finally:
        if follower is not None:
            follower.stop()
        assert agent.terminate() == 0
    names = sorted(f.path.rsplit("/", 1)[1] for f in fs.list(out_dir))
    assert len(names) == 2 and all(n.startswith("FlumeData.") and not n.endswith(".tmp") for n in names), names
    lines = []
    for n in names:
        with fs.open(f"{out_dir}/{n}") as fh:
            lines += fh.read().decode().splitlines()
    assert lines == first + more
    fs.delete(out_dir.rsplit("/", 1)[0], recursive=True)
