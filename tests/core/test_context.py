"""Context: a component's keys with their full names and lines; typed access through Props."""

from __future__ import annotations

import re

import pytest

from flumepy.core.context import Context, Prop, port
from flumepy.core.errors import ConfigError


def ctx() -> Context:
    return Context(
        {"type": "hdfs", "hdfs.path": "/data", "hdfs.rollSize": "0", "serializer": "text",
         "serializer.appendNewline": "false", "kafka.consumer.group.id": "g"},
        {"type": 10, "hdfs.path": 11, "hdfs.rollSize": 12, "serializer": 13, "serializer.appendNewline": 14,
         "kafka.consumer.group.id": 15},
        "a1.sinks.k1.", "x.conf",
    )


def test_plain_access() -> None:
    c = ctx()
    assert c.get("type") == "hdfs" and c.get("nope") is None and c.get("nope", "d") == "d"
    assert "hdfs.path" in c and "hdfs" not in c
    assert c.keys()[0] == "type"
    assert c.as_dict()["serializer"] == "text"
    assert c.full_key("hdfs.path") == "a1.sinks.k1.hdfs.path"


def test_line_of_a_missing_key_is_the_components_first_line() -> None:
    c = ctx()
    assert c.line("hdfs.rollSize") == 12
    assert c.line("hdfs.rollCount") == 10
    assert Context().line("x") == 0


def test_sub_context_keeps_full_names_and_lines() -> None:
    s = ctx().sub("serializer.")
    assert s.as_dict() == {"appendNewline": "false"}
    assert s.full_key("appendNewline") == "a1.sinks.k1.serializer.appendNewline"
    assert s.line("appendNewline") == 14
    assert s.file == "x.conf"
    p = s.problem("appendNewline", "bad")
    assert p.format() == "x.conf:14: a1.sinks.k1.serializer.appendNewline: bad"


def test_with_values_keeps_lines() -> None:
    c = ctx().with_values({"hdfs.path": "/other", "new": "1"})
    assert c.get("hdfs.path") == "/other" and c.line("hdfs.path") == 11
    assert c.get("new") == "1" and c.prefix == "a1.sinks.k1."


def test_error_and_warn() -> None:
    c = ctx()
    e = c.error("hdfs.rollSize", "must be positive")
    assert isinstance(e, ConfigError)
    assert str(e) == "x.conf:12: a1.sinks.k1.hdfs.rollSize: must be positive"
    c.warn("type", "careful")
    assert [p.format() for p in c.problems] == ["x.conf:10: a1.sinks.k1.type: warning: careful"]


def test_parse_with_prefix_props_and_defaults() -> None:
    props = (Prop("hdfs.path", required=True), Prop("hdfs.rollSize", "int", 1024, min=0),
             Prop("hdfs.rollCount", "int", 10, min=0), Prop("kafka.consumer.", prefix=True),
             Prop("serializer", default="TEXT"))
    out = ctx().parse(props)
    assert out["hdfs.path"] == "/data" and out["hdfs.rollSize"] == 0 and out["hdfs.rollCount"] == 10
    sub = out["kafka.consumer."]
    assert isinstance(sub, Context) and sub.as_dict() == {"group.id": "g"}
    assert sub.full_key("group.id") == "a1.sinks.k1.kafka.consumer.group.id"


def test_blank_values_use_defaults_except_for_strings() -> None:
    c = Context({"n": "  ", "s": ""}, {"n": 1, "s": 2})
    assert c.value(Prop("n", "int", 7)) == 7
    assert c.value(Prop("s", "string", "dflt")) == ""
    with pytest.raises(ConfigError, match="is required"):
        c.value(Prop("n", "int", None, required=True))


@pytest.mark.parametrize("type_,text,want", [
    ("int", " 42 ", 42), ("bool", "TRUE", True), ("bool", "off", False), ("float", "0.5", 0.5),
    ("list", "a  b\tc", ["a", "b", "c"]), ("csv", "a, b,,c ", ["a", "b", "c"]), ("charset", "UTF8", "utf-8"),
])
def test_converters(type_: str, text: str, want: object) -> None:
    assert Context({"k": text}).value(Prop("k", type_)) == want


def test_regex_and_charset_errors() -> None:
    assert Context({"k": "a+b"}).value(Prop("k", "regex")) == re.compile("a+b")
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Context({"k": "(a"}).value(Prop("k", "regex"))
    with pytest.raises(ConfigError, match="unknown character set"):
        Context({"k": "klingon-8"}).value(Prop("k", "charset"))


def test_get_int_and_get_bool_helpers() -> None:
    c = Context({"i": "5", "b": "yes"})
    assert c.get_int("i") == 5 and c.get_int("missing", 3) == 3
    assert c.get_bool("b") is True and c.get_bool("missing") is False
    with pytest.raises(ConfigError, match="expected a positive integer"):
        Context({"i": "0"}).get_int("i", min=1)


def test_describe_type() -> None:
    assert port("port").describe_type() == "integer >= 0"
    assert Prop("n", "int", min=1).describe_type() == "positive integer"
    assert Prop("c", choices=("a", "b")).describe_type() == "a | b"
