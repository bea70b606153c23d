"""A real Java Avro IPC peer (avro-ipc 1.8.2 + Netty 3 from the HDFS fixture's jars), compiled once per session."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.avro.protocol import PROTOCOL_JSON
from tests.fixtures.hdfs import provision

SOURCE = Path(__file__).resolve().parent.parent / "fixtures" / "java" / "AvroPeer.java"
JARS = ("avro-1.8.2", "avro-ipc-1.8.2", "netty-3.9.9.Final", "jackson-core-asl-1.9.13", "jackson-mapper-asl-1.9.13",
        "slf4j-api-1.7.16", "paranamer-2.8", "commons-compress-1.20", "xz-1.5", "snappy-java-1.1.8.2")
JVM_FLAGS = ("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true")


class JavaPeer:
    def __init__(self, classpath: str, protocol_file: Path) -> None:
        self.classpath = classpath
        self.protocol_file = protocol_file

    def cmd(self, *args: object) -> list[str]:
        return ["java", *JVM_FLAGS, "-cp", self.classpath, "AvroPeer", args[0], str(self.protocol_file),
                *map(str, args[1:])]

    def run(self, *args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*args), capture_output=True, text=True, timeout=timeout)

    def client(self, port: int, message: str, count: int, batch: int = 1, compression: str = "none"
               ) -> subprocess.CompletedProcess[str]:
        return self.run("client", "127.0.0.1", port, message, count, batch, compression)

    def server(self, out: Path, fail_first: int = 0, compression: str = "none") -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen(self.cmd("server", 0, out, fail_first, compression), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("LISTENING"):
            proc.kill()
            raise AssertionError(f"Java Avro server did not start: {line!r}")
        return proc, int(line.split()[1])


@pytest.fixture(scope="session")
def java_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JavaPeer]:
    cache = provision()
    jars = {p.stem: p for p in [*(cache / "lib").glob("*.jar"), *(cache / "client").glob("*.jar")]}
    missing = [j for j in JARS if j not in jars]
    assert not missing, f"jars missing from {cache}: {missing}"
    out = tmp_path_factory.mktemp("avropeer")
    subprocess.run(["javac", "-nowarn", "-d", str(out), "-cp", ":".join(str(jars[j]) for j in JARS), str(SOURCE)],
                   check=True, capture_output=True, timeout=300)
    proto = out / "flume.avpr"
    proto.write_text(PROTOCOL_JSON)
    yield JavaPeer(":".join([str(out), *(str(jars[j]) for j in JARS)]), proto)


