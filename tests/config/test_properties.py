"""Java .properties parsing (through jproperties) with line numbers, duplicates and substitution."""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy.config.properties import load_properties, parse_properties, substitute
from flumepy.core.errors import ConfigError


def values_and_lines(text: str) -> tuple[dict[str, str], dict[str, int]]:
    p = parse_properties(text, "t.conf")
    return p.values, p.lines


def test_separators_comments_and_line_numbers() -> None:
    text = (
        "# a hash comment\n"
        "! a bang comment\n"
        "a = 1\n"
        "b: 2\n"
        "c 3\n"
        "d=4\n"
        "e:5\n"
        "\n"
        "   # indented comment\n"
        "f = x=y:z\n"
        "justkey\n"
    )
    vals, lines = values_and_lines(text)
    assert vals == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "x=y:z", "justkey": ""}
    assert lines == {"a": 3, "b": 4, "c": 5, "d": 6, "e": 7, "f": 10, "justkey": 11}


def test_continuation_lines_keep_the_starting_line_and_later_lines_stay_right() -> None:
    text = (
        "a1.sources = r1 \\\n"
        "             r2 \\\n"
        "   r3\n"
        "a1.channels = c1\n"
        "# comment ending in a backslash does not continue \\\n"
        "a1.sinks = k1\n"
    )
    vals, lines = values_and_lines(text)
    assert vals["a1.sources"] == "r1 r2 r3"
    assert lines == {"a1.sources": 1, "a1.channels": 4, "a1.sinks": 6}


def test_crlf_and_bare_cr_line_endings() -> None:
    text = "a = 1\r\nb = x \\\r\n    y\r\n\r\nc = 3\r\n"
    vals, lines = values_and_lines(text)
    assert vals == {"a": "1", "b": "x y", "c": "3"}
    assert lines == {"a": 1, "b": 2, "c": 5}
    vals, lines = values_and_lines("a=1\rb=2\r\rc=3")
    assert vals == {"a": "1", "b": "2", "c": "3"}
    assert lines == {"a": 1, "b": 2, "c": 4}


def test_tabs_trailing_spaces_and_indentation_are_trimmed() -> None:
    vals, lines = values_and_lines("\ta\t=\tv1\t \n    b = v2   \nc=\t\t\n")
    assert vals == {"a": "v1", "b": "v2", "c": ""}
    assert lines == {"a": 1, "b": 2, "c": 3}


def test_escapes_and_unicode() -> None:
    text = (
        "path = C\\:\\\\logs\\\\flume\n"
        "url = http\\://host\\:80/p\n"
        "key\\ with\\ spaces = v\n"
        "e = caf\\u00e9 \\u4e2d\\u6587\n"
        "tab = a\\tb\n"
        "raw = 日志 Größe журнал\n"
    )
    vals, _ = values_and_lines(text)
    assert vals["path"] == "C:\\logs\\flume"
    assert vals["url"] == "http://host:80/p"
    assert vals["key with spaces"] == "v"
    assert vals["e"] == "café 中文"
    assert vals["tab"] == "a\tb"
    assert vals["raw"] == "日志 Größe журнал"


def test_duplicate_key_last_wins_with_a_warning_naming_both_lines() -> None:
    p = parse_properties("a = first\nb = x\na = second\n", "dup.conf")
    assert p.values["a"] == "second"
    assert p.lines["a"] == 3
    assert list(p.values) == ["b", "a"]
    [w] = p.problems
    assert w.level == "warning"
    assert w.key == "a" and w.line == 3 and w.file == "dup.conf"
    assert "line 3" in w.message and "line 1" in w.message
    assert w.format().startswith("dup.conf:3: a: warning: duplicate key")


def test_load_properties_reads_utf8_latin1_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "u.conf"
    f.write_bytes("\ufeff# 中文注释\r\nk = Größe\r\n".encode())
    p = load_properties(str(f))
    assert p.values == {"k": "Größe"} and p.lines == {"k": 2}
    f.write_bytes("# K\xf6ln\nk = Gr\xf6\xdfe\n".encode("iso-8859-1"))
    assert load_properties(str(f)).values == {"k": "Größe"}


def test_missing_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError) as e:
        load_properties(str(missing))
    assert str(missing) in str(e.value)
    assert "cannot read" in str(e.value)


# -- substitution ---------------------------------------------------------------------------------
def test_substitution_env_sys_keys_and_bare_names() -> None:
    p = parse_properties(
        "base = ${env:LOGDIR}/x\n"
        "who = ${sys:user.name}\n"
        "combined = ${base}/${who}\n"
        "bare = ${LOGDIR}\n"
        "bare_sys = ${user.name}\n"
        "nested = ${combined}!\n"
        "filter = ${f['KEY']}\n",
        "s.conf",
    )
    substitute(p, system={"user.name": "bob"}, env={"LOGDIR": "/var/log"})
    assert p.values == {
        "base": "/var/log/x",
        "who": "bob",
        "combined": "/var/log/x/bob",
        "bare": "/var/log",
        "bare_sys": "bob",
        "nested": "/var/log/x/bob!",
        "filter": "${f['KEY']}",  # config filter references are resolved per agent later
    }
    assert p.problems == []


def test_unresolved_substitution_stays_verbatim_with_a_warning_at_its_line() -> None:
    p = parse_properties("a = 1\nb = ${env:NOT_SET_ANYWHERE}/x\n", "s.conf")
    substitute(p, system={}, env={})
    assert p.values["b"] == "${env:NOT_SET_ANYWHERE}/x"
    [w] = p.problems
    assert (w.level, w.key, w.line) == ("warning", "b", 2)
    assert "env:NOT_SET_ANYWHERE" in w.message


def test_circular_references_do_not_hang() -> None:
    p = parse_properties("a = ${b}\nb = ${a}\n", "c.conf")
    substitute(p, system={}, env={})
    assert p.values["a"].startswith("${") and p.values["b"].startswith("${")
    assert {w.key for w in p.problems} == {"a", "b"}


@pytest.mark.parametrize("text,line", [("a = 1\nb = \\u00zz\n", 2), ("a = 1\n\nc = x\\u12\n", 3)])
def test_malformed_unicode_escape_is_a_config_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as e:
        parse_properties(text, "u.conf")
    assert str(e.value) == (f"u.conf:{line}: cannot parse properties: malformed \\uXXXX escape "
                            "(expected four hexadecimal digits)")
