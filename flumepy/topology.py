"""Spec -> registry -> configured components, collecting every problem (validation and build are one).

``build_topology`` is what both ``flumepy check`` and the agent use, so a config that checks clean is
exactly a config that builds.  Nothing here does I/O: components are only constructed and configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flumepy.config.model import AgentSpec, ComponentSpec
from flumepy.core.component import (
    Channel,
    ChannelSelector,
    Component,
    Interceptor,
    Sink,
    SinkProcessor,
    Source,
)
from flumepy.core.context import Context, unknown_key_problems
from flumepy.core.errors import ConfigError, Problem
from flumepy.core.processor import ChannelProcessor
from flumepy.registry import Registry, UnknownTypeError

SOURCE_KEYS = ("type", "channels", "interceptors", "config")
SOURCE_PREFIXES = ("selector.", "interceptors.")
SINK_KEYS = ("type", "channel", "config")
CHANNEL_KEYS = ("type", "config")
GROUP_KEYS = ("sinks",)
GROUP_PREFIXES = ("processor.",)


@dataclass
class Topology:
    """A configured, not yet started agent: components by name and the wiring between them."""

    spec: AgentSpec
    channels: dict[str, Channel] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    sinks: dict[str, Sink] = field(default_factory=dict)
    processors: dict[str, SinkProcessor] = field(default_factory=dict)  # group (or solo sink) name
    source_channels: dict[str, list[str]] = field(default_factory=dict)
    sink_channel: dict[str, str] = field(default_factory=dict)
    group_sinks: dict[str, list[str]] = field(default_factory=dict)
    # Running channels (reused from the previous topology) to reconfigure in place when this one is
    # applied; their new settings were validated on a fresh instance, so a rejected reload changes nothing.
    reconfigure: dict[str, Context] = field(default_factory=dict)

    def components(self) -> Iterable[Component]:
        yield from self.channels.values()
        yield from self.sources.values()
        yield from self.sinks.values()


class _Builder:
    def __init__(self, spec: AgentSpec, registry: Registry, reuse: Topology | None) -> None:
        self.spec = spec
        self.registry = registry
        self.reuse = reuse
        self.problems: list[Problem] = list(spec.problems)
        self.topo = Topology(spec)
        self.validated: dict[str, Channel] = {}  # fresh instances holding reconfigured channels' settings

    # -- helpers ------------------------------------------------------------------------------
    def make(self, kind: str, name: str, ctx: Context, type_name: str | None, known: Iterable[str],
             prefixes: Iterable[str] = (), type_key: str = "type") -> Any:
        """Resolve, construct and configure one component; record problems; None on error."""
        if not type_name:
            return None
        try:
            cls = self.registry.resolve(kind, type_name)
        except UnknownTypeError as e:
            self.problems.append(ctx.problem(type_key, str(e)))
            return None
        try:
            comp = cls(name)
        except Exception as e:  # a plugin's constructor failing must not crash validation
            self.problems.append(ctx.problem(type_key, f"{type_name} could not be created: {e}"))
            return None
        if hasattr(comp, "registry"):
            comp.registry = self.registry  # components that build sub-components (serializers) use ours
        return self.configure(comp, ctx, known, prefixes)

    def configure(self, comp: Component, ctx: Context, known: Iterable[str], prefixes: Iterable[str]) -> Any:
        props = getattr(comp, "PROPS", ())
        self.problems.extend(unknown_key_problems(ctx, props, known, prefixes))
        ok = True
        try:
            comp.configure(ctx)
        except ConfigError as e:
            self.problems.extend(e.problems)
            ok = False
        except Exception as e:
            self.problems.append(ctx.problem("type", f"configuration failed: {type(e).__name__}: {e}"))
            ok = False
        self.problems.extend(ctx.problems)
        ctx.problems.clear()
        return comp if ok else None

    def reusable(self, section: str, cs: ComponentSpec) -> Any:
        if self.reuse is None:
            return None
        old = self.reuse.spec.components[section].get(cs.name)
        if old is None or old.fingerprint() != cs.fingerprint():
            return None
        return getattr(self.reuse, section).get(cs.name)

    # -- sections ---------------------------------------------------------------------------------
    def channels(self) -> None:
        for name, cs in self.spec.channels.items():
            ch = self.reusable("channels", cs)
            if ch is None and self.reuse is not None:
                old = self.reuse.channels.get(name)
                oldspec = self.reuse.spec.channels.get(name)
                if old is not None and oldspec is not None and oldspec.type == cs.type:
                    # Same channel, new settings: validate them on a fresh instance; the running one is
                    # reconfigured in place (keeping its queued events) only if the whole reload applies.
                    fresh = self.make("channels", name, cs.ctx, cs.type, CHANNEL_KEYS)
                    if fresh is None:
                        continue
                    self.validated[name] = fresh
                    self.topo.reconfigure[name] = cs.ctx
                    ch = old
            if ch is None:
                ch = self.make("channels", name, cs.ctx, cs.type, CHANNEL_KEYS)
            if ch is not None:
                self.topo.channels[name] = ch

    def sources(self) -> None:
        declared = self.spec.channels
        for name, cs in self.spec.sources.items():
            ctx = cs.ctx
            if not ctx.keys():
                continue  # listed without any properties: the model already reported it
            chan_names = (ctx.get("channels") or "").split()
            if not chan_names:
                hint = (f" (found {ctx.full_key('channel')} on line {ctx.line('channel')}: a source's key is "
                        "channels, a list)") if "channel" in ctx else ""
                self.problems.append(ctx.problem("channels", f"is required: the channels this source "
                                                             f"writes to{hint}"))
            for c in chan_names:
                if c not in declared:
                    self.problems.append(ctx.problem(
                        "channels", f"channel {c!r} is not declared in {self.spec.name}.channels "
                        f"(declared: {', '.join(declared) or 'none'})"))
            src = self.reusable("sources", cs)
            if src is not None and all(self.topo.channels.get(c) is self.reuse.channels.get(c)  # type: ignore
                                       for c in chan_names):
                self.check_batch(src, ctx, chan_names, "batchSize")
                self.topo.sources[name] = src
                self.topo.source_channels[name] = chan_names
                continue
            src = self.make("sources", name, ctx, cs.type, SOURCE_KEYS, SOURCE_PREFIXES)
            processor = self.channel_processor(name, ctx, chan_names)
            if src is None or processor is None:
                continue
            src.channel_processor = processor
            self.check_batch(src, ctx, chan_names, "batchSize")
            self.topo.sources[name] = src
            self.topo.source_channels[name] = chan_names

    def channel_processor(self, name: str, ctx: Context, chan_names: list[str]) -> ChannelProcessor | None:
        sel_ctx = ctx.sub("selector.")
        sel: ChannelSelector | None = self.make("selectors", name, sel_ctx, sel_ctx.get("type") or "replicating",
                                                ("type",))
        interceptors: list[Interceptor] = []
        ok = sel is not None
        for iname in (ctx.get("interceptors") or "").split():
            ictx = ctx.sub(f"interceptors.{iname}.")
            if "type" not in ictx:
                self.problems.append(ctx.problem("interceptors", f"interceptor {iname!r} has no type "
                                                 f"({ctx.full_key(f'interceptors.{iname}.type')} = ...)"))
                ok = False
                continue
            ic = self.make("interceptors", iname, ictx, ictx.get("type"), ("type",))
            if ic is None:
                ok = False
            else:
                interceptors.append(ic)
        channels = [self.topo.channels[c] for c in chan_names if c in self.topo.channels]
        if not ok or len(channels) != len(chan_names) or not channels:
            return None
        assert sel is not None
        sel.set_channels(channels)
        try:
            sel.validate_channels() if hasattr(sel, "validate_channels") else None
        except ConfigError as e:
            self.problems.extend(e.problems)
            return None
        return ChannelProcessor(sel, interceptors)

    def check_batch(self, comp: Component, ctx: Context, chan_names: list[str], key: str) -> None:
        batch = getattr(comp, "batch_size", 0)
        for c in chan_names:
            ch = self.validated.get(c) or self.topo.channels.get(c)
            cap = getattr(ch, "transaction_capacity", 0) if ch is not None else 0
            if batch and cap and batch > cap:
                k = next((k for k in ctx.keys() if k.lower().endswith(key.lower())), key)
                self.problems.append(ctx.problem(
                    k, f"batch size {batch} is larger than channel {c}'s transactionCapacity {cap}; "
                    f"lower it or raise {self.spec.name}.channels.{c}.transactionCapacity"))

    def sinks(self) -> None:
        for name, cs in self.spec.sinks.items():
            ctx = cs.ctx
            if not ctx.keys():
                continue  # listed without any properties: the model already reported it
            cname = ctx.get("channel")
            if not cname:
                hint = (f" (found {ctx.full_key('channels')} on line {ctx.line('channels')}: a sink reads exactly "
                        "one channel, key channel)") if "channels" in ctx else ""
                self.problems.append(ctx.problem("channel", f"is required: the channel this sink reads{hint}"))
            elif cname not in self.spec.channels:
                self.problems.append(ctx.problem(
                    "channel", f"channel {cname!r} is not declared in {self.spec.name}.channels "
                    f"(declared: {', '.join(self.spec.channels) or 'none'})"))
            sink = self.reusable("sinks", cs)
            if sink is None or self.topo.channels.get(cname or "") is not self.reuse.channels.get(cname or ""):  # type: ignore
                sink = self.make("sinks", name, ctx, cs.type, SINK_KEYS)
            if sink is None or not cname or cname not in self.topo.channels:
                continue
            sink.channel = self.topo.channels[cname]
            self.check_batch(sink, ctx, [cname], "batchSize")
            self.topo.sinks[name] = sink
            self.topo.sink_channel[name] = cname

    def groups(self) -> None:
        owner: dict[str, str] = {}
        for gname, gs in self.spec.sinkgroups.items():
            ctx = gs.ctx
            if not ctx.keys():
                continue  # listed without any properties: the model already reported it
            self.problems.extend(unknown_key_problems(ctx, (), GROUP_KEYS, GROUP_PREFIXES))
            members = (ctx.get("sinks") or "").split()
            if not members:
                self.problems.append(ctx.problem("sinks", "is required: the sinks in this group"))
                continue
            good = True
            for m in members:
                if m in owner:
                    self.problems.append(ctx.problem("sinks", f"sink {m!r} is already in sink group {owner[m]!r}"))
                    good = False
                elif m not in self.spec.sinks:
                    self.problems.append(ctx.problem(
                        "sinks", f"sink {m!r} is not declared in {self.spec.name}.sinks "
                        f"(declared: {', '.join(self.spec.sinks) or 'none'})"))
                    good = False
                owner.setdefault(m, gname)
            pctx = ctx.sub("processor.")
            proc = self.make("sinkprocessors", gname, pctx, pctx.get("type") or "default", ("type",))
            if proc is None or not good or not all(m in self.topo.sinks for m in members):
                continue
            proc.set_sinks([self.topo.sinks[m] for m in members])
            try:
                if hasattr(proc, "validate_sinks"):
                    proc.validate_sinks(pctx)
            except ConfigError as e:
                self.problems.extend(e.problems)
                continue
            self.topo.processors[gname] = proc
            self.topo.group_sinks[gname] = members
        for name, sink in self.topo.sinks.items():
            if name in owner:
                continue
            proc = self.make("sinkprocessors", name, Context(prefix=f"{self.spec.name}.sinks.{name}."),
                             "default", ())
            if proc is not None:
                proc.set_sinks([sink])
                self.topo.processors[name] = proc
                self.topo.group_sinks[name] = [name]

    def orphans(self) -> None:
        # Declared references count, even from components that failed to build: those have their own errors.
        used = {c for cs in self.spec.sources.values() for c in (cs.ctx.get("channels") or "").split()}
        used |= {cs.ctx.get("channel") or "" for cs in self.spec.sinks.values()}
        for name, cs in self.spec.channels.items():
            if name not in used and name in self.topo.channels:
                line = cs.ctx.line("type")
                self.problems.append(Problem("warning", "no source or sink uses this channel",
                                             cs.ctx.full_key("type")[:-5], cs.ctx.file, line))


def build_topology(spec: AgentSpec, registry: Registry, reuse: Topology | None = None
                   ) -> tuple[Topology, list[Problem]]:
    """Every component constructed and configured, plus every problem found (errors and warnings)."""
    b = _Builder(spec, registry, reuse)
    b.channels()
    b.sources()
    b.sinks()
    b.groups()
    b.orphans()
    return b.topo, b.problems


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == "error"]
