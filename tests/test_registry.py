"""The component registry: aliases, Flume's Java class names, class paths, errors, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy import __version__
from flumepy.channels.memory import MemoryChannel
from flumepy.core.errors import FlumeError
from flumepy.registry import Registry, UnknownTypeError
from flumepy.sinks.logger import LoggerSink
from flumepy.sinks.null import NullSink
from flumepy.sources.seq import SeqSource


@pytest.fixture
def small() -> Registry:
    """A registry with a few built-ins only, so the messages below do not depend on what else exists."""
    reg = Registry()
    reg.register("sources", "seq", SeqSource)
    reg.register("channels", "memory", MemoryChannel)
    reg.register("sinks", "null", NullSink)
    reg.register("sinks", "logger", LoggerSink)
    return reg


# -- aliases --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["memory", "MEMORY", "Memory", " memory "])
def test_aliases_are_case_insensitive(registry: Registry, name: str) -> None:
    assert registry.resolve("channels", name) is MemoryChannel


def test_entry_points_give_builtins_with_flumepy_as_origin(registry: Registry) -> None:
    entry = registry.entries("sinks")["logger"]
    assert entry.origin == f"flumepy {__version__}"
    assert registry.resolve("sinks", "logger") is LoggerSink
    assert {"seq"} <= set(registry.names("sources"))
    assert Registry().names("sources") == []  # nothing is read unless asked for


# -- Flume's Java class names -------------------------------------------------------------------------
def test_java_class_name_maps_to_the_builtin(registry: Registry) -> None:
    assert registry.resolve("channels", "org.apache.flume.channel.MemoryChannel") is MemoryChannel
    assert registry.resolve("sources", "org.apache.flume.source.SequenceGeneratorSource") is SeqSource
    assert registry.resolve("sinks", "org.apache.flume.sink.LoggerSink") is LoggerSink


def test_java_class_of_a_component_flumepy_lacks_says_so_with_install_hint(small: Registry) -> None:
    with pytest.raises(UnknownTypeError) as e:
        small.resolve("sources", "org.apache.flume.source.kafka.KafkaSource")
    msg = str(e.value)
    assert "org.apache.flume.source.kafka.KafkaSource is Flume's Java source 'kafka'" in msg
    assert "flumepy does not provide" in msg
    assert "install flumepy[kafka]" in msg
    assert "Available source types: seq" in msg


def test_java_class_without_an_extra_has_no_install_hint(small: Registry) -> None:
    with pytest.raises(UnknownTypeError, match=r"IRCSink is Flume's Java sink 'irc', which flumepy does not "
                                               r"provide\. Available sink types: logger, null$"):
        small.resolve("sinks", "org.apache.flume.sink.irc.IRCSink")


def test_unknown_java_class_is_explained(small: Registry) -> None:
    with pytest.raises(UnknownTypeError, match=r"looks like a Java class; flumepy runs Python components.*"
                                               r"package\.module:Class"):
        small.resolve("sinks", "org.apache.flume.sink.NoSuchSink")
    # A custom Java class from a Flume config: the import fails, and the message says why.
    with pytest.raises(UnknownTypeError) as e:
        small.resolve("interceptors", "com.example.flume.MyInterceptor$Builder")
    assert "could not be imported" in str(e.value)
    assert "If com.example.flume.MyInterceptor$Builder is a Java class: flumepy runs Python components" in str(e.value)


# -- Python class paths -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["flumepy.channels.memory:MemoryChannel", "flumepy.channels.memory.MemoryChannel"])
def test_module_class_and_dotted_paths(small: Registry, path: str) -> None:
    assert small.resolve("channels", path) is MemoryChannel


def test_class_path_that_cannot_be_imported(small: Registry) -> None:
    with pytest.raises(UnknownTypeError, match=r"custom sink class 'no_such_module:Sink' could not be imported.*"
                                               r"no_such_module"):
        small.resolve("sinks", "no_such_module:Sink")
    with pytest.raises(UnknownTypeError, match=r"custom sink class 'flumepy.sinks.null:NoSuchSink'"):
        small.resolve("sinks", "flumepy.sinks.null:NoSuchSink")
    with pytest.raises(UnknownTypeError, match=r"is not a class"):
        small.resolve("sinks", "flumepy.sinks.null:log")


def test_registered_entry_that_fails_to_import_names_its_extra(small: Registry) -> None:
    small.register("sinks", "hdfs", "flumepy_missing_backend.hdfs:HDFSSink")
    with pytest.raises(UnknownTypeError, match=r"sink type 'HDFS' could not be loaded: .*flumepy_missing_backend"
                                               r".*\(pip install flumepy\[hdfs\]\)"):
        small.resolve("sinks", "HDFS")


# -- unknown names ------------------------------------------------------------------------------------
def test_unknown_type_lists_names_and_suggests_the_closest(small: Registry) -> None:
    with pytest.raises(UnknownTypeError) as e:
        small.resolve("channels", "memroy")
    assert str(e.value) == ("unknown channel type 'memroy'. Did you mean memory? Known channel types: memory; "
                            "or give a Python class as package.module:Class")


def test_unknown_type_without_a_close_name(small: Registry) -> None:
    with pytest.raises(UnknownTypeError) as e:
        small.resolve("sinks", "elephant")
    assert "Did you mean" not in str(e.value)
    assert "Known sink types: logger, null" in str(e.value)


def test_unknown_kind_is_rejected(small: Registry) -> None:
    with pytest.raises(ValueError, match="unknown kind 'widgets'"):
        small.register("widgets", "w", NullSink)


# -- duplicates and read-only entries ------------------------------------------------------------------
def test_duplicate_registration_is_an_error(small: Registry) -> None:
    with pytest.raises(FlumeError, match=r"sink type 'NULL' is already registered by registered in code"):
        small.register("sinks", "NULL", LoggerSink)
    assert small.resolve("sinks", "null") is NullSink
    small.register("sinks", "null", LoggerSink, clobber=True)  # only when asked for explicitly
    assert small.resolve("sinks", "null") is LoggerSink


def test_an_installed_distribution_reusing_a_builtin_alias_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "rogue_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rogue-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[flumepy.sinks]\nnull = rogue_plugin:NullSink\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(FlumeError, match=r"sink type 'null' is registered twice: by .* and by .*"):
        Registry.from_entry_points(["sinks"])
    with pytest.raises(FlumeError) as e:
        Registry.from_entry_points(["sinks"])
    assert "rogue-plugin 1.0" in str(e.value) and f"flumepy {__version__}" in str(e.value)
    Registry.from_entry_points(["sources"])  # other groups are unaffected


def test_entries_are_read_only(small: Registry) -> None:
    entries = small.entries("sinks")
    with pytest.raises(TypeError):
        entries["null"] = entries["logger"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del entries["null"]  # type: ignore[attr-defined]
    names = small.names("sinks")
    names.append("bogus")
    assert small.names("sinks") == ["logger", "null"]
    assert small.resolve("sinks", "null") is NullSink


def test_alias_of_a_class(small: Registry) -> None:
    small.resolve("sinks", "logger")
    assert small.alias_of("sinks", LoggerSink) == "logger"
    assert small.alias_of("sinks", MemoryChannel) is None
