"""multiplexing: routing by header value, default, optional, and channel-name errors."""

from __future__ import annotations

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.selectors.multiplexing import MultiplexingSelector

PREFIX = "a1.sources.r1.selector."


def channels(*names: str) -> list[MemoryChannel]:
    out = []
    for n in names:
        c = MemoryChannel(n)
        c.configure(Context({}, {}, f"a1.channels.{n}."))
        out.append(c)
    return out


def selector(props: dict[str, str], chans: list[MemoryChannel]) -> MultiplexingSelector:
    sel = MultiplexingSelector("r1")
    sel.configure(Context(props, {k: n for n, k in enumerate(props, start=10)}, PREFIX, "agent.conf"))
    sel.set_channels(chans)
    sel.validate_channels()
    return sel


def routed(sel: MultiplexingSelector, events: list[Event]) -> list[tuple[str, list[bytes], bool]]:
    return [(c.name, [e.body for e in evs], req) for c, evs, req in sel.route(events)]


def ev(body: str, **headers: str) -> Event:
    return Event(body.encode(), dict(headers))


CONF = {
    "header": "state",
    "mapping.CA": "c1",
    "mapping.AZ": "c2 c3",
    "mapping.NY": "c1 c2",
    "optional.CA": "c1 c4",
    "optional.TX": "c4",
    "default": "c4",
}


def test_routes_each_event_by_header_in_order():
    sel = selector(CONF, channels("c1", "c2", "c3", "c4"))
    batch = [ev("1", state="CA"), ev("2", state="AZ"), ev("3", state="NY"), ev("4", state="CA"),
             ev("5", state="XX"), ev("6"), ev("7", state=" "), ev("8", state="TX")]
    assert routed(sel, batch) == [
        ("c1", [b"1", b"3", b"4"], True),
        ("c2", [b"2", b"3"], True),
        ("c3", [b"2"], True),
        # unknown value, missing header, blank value, and TX (only optional mapped) -> default
        ("c4", [b"5", b"6", b"7", b"8"], True),
        # optional: CA -> c4 (c1 is already required for CA); TX's optional c4 is its required default
        ("c4", [b"1", b"4"], False),
    ]


def test_default_header_name_and_no_default_drops_unmapped():
    sel = selector({"mapping.a": "c1"}, channels("c1", "c2"))
    batch = [ev("1", **{"flume.selector.header": "a"}), ev("2", **{"flume.selector.header": "b"}), ev("3")]
    assert routed(sel, batch) == [("c1", [b"1"], True)]


def test_optional_only_value_goes_to_default_as_required():
    sel = selector({"header": "h", "optional.x": "c2", "default": "c1"}, channels("c1", "c2"))
    assert routed(sel, [ev("1", h="x"), ev("2", h="y")]) == [("c1", [b"1", b"2"], True), ("c2", [b"1"], False)]


def test_unknown_channels_are_errors_naming_each_key():
    with pytest.raises(ConfigError) as ei:
        selector({"mapping.CA": "c1 c9", "optional.NY": "c8", "default": "c7"}, channels("c1", "c2"))
    msg = str(ei.value)
    assert "agent.conf:10: a1.sources.r1.selector.mapping.CA: c9 not among this source's channels (c1, c2)" in msg
    assert "a1.sources.r1.selector.optional.NY: c8 not among" in msg
    assert "a1.sources.r1.selector.default: c7 not among" in msg


def test_empty_mapping_is_an_error():
    with pytest.raises(ConfigError, match=r"selector\.mapping\.CA: no channel configured"):
        selector({"mapping.CA": " "}, channels("c1"))


def test_route_through_channel_processor_puts_into_channels():
    from flumepy.core.processor import ChannelProcessor

    chans = channels("c1", "c2")
    for c in chans:
        c.start()
    cp = ChannelProcessor(selector({"header": "t", "mapping.a": "c1", "default": "c2"}, chans))
    cp.process_batch([ev("1", t="a"), ev("2", t="b"), ev("3", t="a")])
    got = {}
    for c in chans:
        with c.transaction() as tx:
            got[c.name] = [e.body for e in tx.take_batch(10)]
    assert got == {"c1": [b"1", b"3"], "c2": [b"2"]}
