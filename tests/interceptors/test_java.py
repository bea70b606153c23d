"""Java regex, replacement and Joda pattern translation."""

from __future__ import annotations

import pytest

from flumepy.interceptors._java import java_regex, java_replacement, joda_to_strptime


@pytest.mark.parametrize("java, text, found", [
    (r"(?<year>\d{4})-\k<year>", "x 2020-2020", "2020-2020"),
    (r"\Qa.b*\E+", "xa.b**a", "a.b**"),  # \Q..\E then a quantifier on its last char
    (r"\p{Alpha}+\P{Alpha}", "12ab3", "ab3"),
    (r"[\p{Digit}x]+", "a9x8b", "9x8"),
    (r"end\z", "the end", "end"),
    (r"end\Z", "the end\n", "end"),
    (r"(?<=a)b(?<!c)", "ab", "b"),
    (r"[]a]+", "]a]", "]a]"),
])
def test_java_regex(java, text, found):
    m = java_regex(java).search(text)
    assert m is not None and m.group(0) == found


def test_java_regex_z_is_absolute_end():
    assert java_regex(r"end\z").search("end\n") is None


def test_java_regex_unsupported_property():
    with pytest.raises(ValueError, match="not supported"):
        java_regex(r"\p{InGreek}")


@pytest.mark.parametrize("repl, out", [
    ("$1-$2", "b-a"), ("$12", "b2"), ("\\$1", "$1"), ("\\\\$1", "\\b"), ("${n}!", "b!"), ("x", "x"),
])
def test_java_replacement(repl, out):
    rx = java_regex(r"(?<n>b)(a)")
    assert rx.sub(java_replacement(repl, rx), "ba") == out


@pytest.mark.parametrize("repl", ["$", "$x", "${zz}", "$3", "a\\"])
def test_java_replacement_errors(repl):
    with pytest.raises(ValueError):
        java_replacement(repl, java_regex("(a)(b)"))


@pytest.mark.parametrize("joda, fmt", [
    ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
    ("yy/MMM/d h:mm a", "%y/%b/%d %I:%M %p"),
    ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "%Y-%m-%dT%H:%M:%S.%f%z"),
    ("EEE, dd MMMM yyyy ZZ", "%a, %d %B %Y %z"),
    ("dd 'o''clock' 100%", "%d o'clock 100%%"),
])
def test_joda_to_strptime(joda, fmt):
    assert joda_to_strptime(joda) == fmt


@pytest.mark.parametrize("joda", ["yyyy G", "HH ZZZ", "'open"])
def test_joda_unsupported(joda):
    with pytest.raises(ValueError):
        joda_to_strptime(joda)
