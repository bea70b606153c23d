"""regex_filter, regex_extractor, search_replace and remove_header: exact effects and config errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.interceptors.regex_extractor import MILLIS, RegexExtractorInterceptor
from flumepy.interceptors.regex_filter import RegexFilterInterceptor
from flumepy.interceptors.remove_header import RemoveHeaderInterceptor
from flumepy.interceptors.search_replace import SearchReplaceInterceptor


def bodies(*bs: bytes) -> list[Event]:
    return [Event(b) for b in bs]


# -- regex_filter -------------------------------------------------------------------------------------
def test_filter_keeps_only_matches_by_default(make):
    ic = make(RegexFilterInterceptor, {"regex": "ERROR|WARN"})
    out = ic.intercept_batch(bodies(b"INFO ok", b"x ERROR y", b"WARN", b""))
    assert [e.body for e in out] == [b"x ERROR y", b"WARN"]


def test_filter_exclude_drops_matches(make):
    ic = make(RegexFilterInterceptor, {"regex": r"^\d+$", "excludeEvents": "true"})
    out = ic.intercept_batch(bodies(b"123", b"12a", b"abc"))
    assert [e.body for e in out] == [b"12a", b"abc"]


def test_filter_default_keeps_everything_and_exclude_default_drops_everything(make):
    evs = bodies(b"a", b"", b"\xff")
    assert make(RegexFilterInterceptor).intercept_batch(evs) == evs
    assert make(RegexFilterInterceptor, {"excludeEvents": "true"}).intercept_batch(evs) == []


def test_filter_non_utf8_body_still_matched_and_unchanged(make):
    ic = make(RegexFilterInterceptor, {"regex": "caf\u00e9 ok"})
    out = ic.intercept_batch(bodies(b"\xff\xfe caf\xc3\xa9 ok \x80", b"\xff\xfe"))
    assert [e.body for e in out] == [b"\xff\xfe caf\xc3\xa9 ok \x80"]


def test_filter_bad_regex_names_key(make):
    with pytest.raises(ConfigError) as ei:
        make(RegexFilterInterceptor, {"regex": "(unclosed"})
    msg = str(ei.value)
    assert "agent.conf:3: a1.sources.r1.interceptors.i1.regex: '(unclosed' is not valid" in msg


# -- regex_extractor ----------------------------------------------------------------------------------
def test_extractor_groups_to_headers_first_match_only(make):
    ic = make(RegexExtractorInterceptor, {
        "regex": r"(\d):(\d):(\d)", "serializers": "s1 s2",
        "serializers.s1.name": "one", "serializers.s2.name": "two",
    })
    out = ic.intercept_batch([Event(b"x 1:2:3 y 4:5:6", {"keep": "k"}), Event(b"no match")])
    assert out[0].headers == {"keep": "k", "one": "1", "two": "2"}  # third group ignored
    assert out[0].body == b"x 1:2:3 y 4:5:6"
    assert out[1].headers == {} and len(out) == 2


def test_extractor_named_groups_and_unmatched_group(make):
    ic = make(RegexExtractorInterceptor, {
        "regex": r"(?<user>\w+)(?:@(\w+))?", "serializers": "u h",
        "serializers.u.name": "user", "serializers.h.name": "host", "serializers.h.type": "DEFAULT",
    })
    out = ic.intercept_batch(bodies(b"bob@box", b"alice"))
    assert [e.headers for e in out] == [{"user": "bob", "host": "box"}, {"user": "alice"}]


def test_extractor_millis_serializer_with_zone(make):
    ic = make(RegexExtractorInterceptor, {
        "regex": r"^\[([^\]]+)\] (\w+)", "serializers": "ts lvl",
        "serializers.ts.name": "timestamp", "serializers.ts.type": MILLIS,
        "serializers.ts.pattern": "yyyy-MM-dd'T'HH:mm:ss.SSS Z",
        "serializers.lvl.name": "level",
    })
    (e,) = ic.intercept_batch(bodies(b"[2024-03-05T10:20:30.456 +0100] ERROR boom"))
    expected = int(datetime(2024, 3, 5, 9, 20, 30, 456000, tzinfo=UTC).timestamp() * 1000)
    assert e.headers == {"timestamp": str(expected), "level": "ERROR"}


def test_extractor_millis_without_zone_is_local_time(make):
    ic = make(RegexExtractorInterceptor, {
        "regex": r"(\d+/\d+/\d+ \d+:\d+)", "serializers": "t",
        "serializers.t.name": "ts", "serializers.t.type": MILLIS, "serializers.t.pattern": "yyyy/MM/dd HH:mm",
    })
    (e,) = ic.intercept_batch(bodies(b"at 2021/12/31 23:59 done"))
    assert e.headers == {"ts": str(int(datetime(2021, 12, 31, 23, 59).timestamp()) * 1000)}


def test_extractor_unparsable_date_sets_no_header_and_keeps_event(make):
    ic = make(RegexExtractorInterceptor, {
        "regex": r"(\S+) (\S+)", "serializers": "t w",
        "serializers.t.name": "ts", "serializers.t.type": MILLIS, "serializers.t.pattern": "yyyy-MM-dd",
        "serializers.w.name": "word",
    })
    out = ic.intercept_batch(bodies(b"2021-13-45 hello", b"2021-01-02 x"))
    assert out[0].headers == {"word": "hello"}
    assert out[1].headers["ts"] == str(int(datetime(2021, 1, 2).timestamp()) * 1000)


@pytest.mark.parametrize("props, key, text", [
    ({"serializers": "s"}, "regex", "is required"),
    ({"regex": "(a)"}, "serializers", "is required"),
    ({"regex": "(a", "serializers": "s", "serializers.s.name": "h"}, "regex", "is not valid"),
    ({"regex": "(a)", "serializers": "s"}, "serializers.s.name", "is required"),
    ({"regex": "(a)", "serializers": "s", "serializers.s.name": "h", "serializers.s.type": "com.x.Y"},
     "serializers.s.type", "'com.x.Y' is not a known serializer"),
    ({"regex": "(a)", "serializers": "s", "serializers.s.name": "h", "serializers.s.type": MILLIS},
     "serializers.s.pattern", "is required"),
    ({"regex": "(a)", "serializers": "s", "serializers.s.name": "h", "serializers.s.type": MILLIS,
      "serializers.s.pattern": "yyyy QQ"}, "serializers.s.pattern", "letter 'Q' is not supported"),
])
def test_extractor_config_errors_name_the_key(make, props, key, text):
    with pytest.raises(ConfigError) as ei:
        make(RegexExtractorInterceptor, props)
    assert f"a1.sources.r1.interceptors.i1.{key}: " in str(ei.value)
    assert text in str(ei.value)


# -- search_replace -----------------------------------------------------------------------------------
def test_search_replace_java_group_references(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": r"(\w+)=(\d+)", "replaceString": "$2<-$1 \\$x"})
    (e,) = ic.intercept_batch(bodies(b"a=1, bb=22"))
    assert e.body == b"1<-a $x, 22<-bb $x"


def test_search_replace_deletes_when_no_replacement(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": r"^[A-Za-z0-9_]+\s*"})
    out = ic.intercept_batch(bodies(b"Hello world", b""))
    assert [e.body for e in out] == [b"world", b""]


def test_search_replace_backslash_is_literal_in_python_and_named_groups(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": r"(?<k>\w+):", "replaceString": r"${k}\\n"})
    (e,) = ic.intercept_batch(bodies(b"key: v"))
    assert e.body == b"key\\n v"


def test_search_replace_keeps_invalid_bytes(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": "secret=\\S+", "replaceString": "secret=***"})
    (e,) = ic.intercept_batch(bodies(b"\xff\x00 secret=p\xc3\xa4ss \x80"))
    assert e.body == b"\xff\x00 secret=*** \x80"


def test_search_replace_charset(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": "\u00e9", "replaceString": "e", "charset": "ISO-8859-1"})
    (e,) = ic.intercept_batch(bodies("caf\u00e9".encode("latin-1")))
    assert e.body == b"cafe"


def test_search_replace_untouched_body_is_same_object(make):
    ic = make(SearchReplaceInterceptor, {"searchPattern": "zzz", "replaceString": "y"})
    body = b"abc"
    (e,) = ic.intercept_batch(bodies(body))
    assert e.body is body


@pytest.mark.parametrize("props, key, text", [
    ({}, "searchPattern", "is required"),
    ({"searchPattern": ""}, "searchPattern", "may not be empty"),
    ({"searchPattern": "[a-"}, "searchPattern", "is not valid"),
    ({"searchPattern": "(a)", "replaceString": "$2"}, "replaceString", "no group 2"),
    ({"searchPattern": "(a)", "replaceString": "x\\"}, "replaceString", "trailing"),
    ({"searchPattern": "a", "charset": "klingon"}, "charset", "unknown character set"),
])
def test_search_replace_config_errors_name_the_key(make, props, key, text):
    with pytest.raises(ConfigError) as ei:
        make(SearchReplaceInterceptor, props)
    assert f"a1.sources.r1.interceptors.i1.{key}: " in str(ei.value)
    assert text in str(ei.value)


# -- remove_header ------------------------------------------------------------------------------------
def test_remove_header_with_name_list_and_regex(make):
    ic = make(RemoveHeaderInterceptor, {
        "withName": "a", "fromList": "b , c,d", "matching": "tmp\\..*",
    })
    (e,) = ic.intercept_batch([Event(b"x", {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5",
                                            "tmp.x": "6", "xtmp.y": "7"})])
    assert e.headers == {"e": "5", "xtmp.y": "7"}
    assert e.body == b"x"


def test_remove_header_custom_separator_and_whole_name_match(make):
    ic = make(RemoveHeaderInterceptor, {"fromList": "x|y", "fromListSeparator": "\\|", "matching": "ab"})
    (e,) = ic.intercept_batch([Event(b"", {"x": "1", "y": "2", "ab": "3", "abc": "4"})])
    assert e.headers == {"abc": "4"}


def test_remove_header_nothing_configured_is_noop(make):
    ic = make(RemoveHeaderInterceptor)
    evs = [Event(b"", {"k": "v"})]
    assert ic.intercept_batch(evs) == [Event(b"", {"k": "v"})]


def test_remove_header_bad_regex_names_key(make):
    with pytest.raises(ConfigError, match=r"interceptors\.i1\.matching: '\[' is not valid"):
        make(RemoveHeaderInterceptor, {"matching": "["})
