"""``flumepy graph``: an agent's topology (source -> channel -> sink) as text, Graphviz dot or Mermaid.

Drawn from the AgentSpec alone, so it works on configs with errors: whatever is declared is shown,
and references to undeclared channels or sinks are marked as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flumepy.config.model import AgentSpec, ComponentSpec

FORMATS = ("text", "dot", "mermaid")


@dataclass
class _Source:
    name: str
    type: str
    channels: list[str]
    selector: str
    interceptors: list[tuple[str, str]]  # (name, type)
    edge_labels: dict[str, list[str]] = field(default_factory=dict)  # channel -> multiplexing values


@dataclass
class _Graph:
    name: str
    file: str
    sources: list[_Source]
    channels: dict[str, str]  # name -> type
    sinks: dict[str, tuple[str, str]]  # name -> (type, channel)
    groups: dict[str, tuple[str, list[str]]]  # name -> (processor type, sinks)

    def group_of(self, sink: str) -> str | None:
        return next((g for g, (_, members) in self.groups.items() if sink in members), None)

    def sinks_of(self, channel: str) -> list[str]:
        return [s for s, (_, ch) in self.sinks.items() if ch == channel]


def _type(cs: ComponentSpec) -> str:
    return cs.type or "type missing"


def _model(spec: AgentSpec) -> _Graph:
    sources = []
    for name, cs in spec.sources.items():
        ctx = cs.ctx
        sel = ctx.sub("selector.")
        stype = sel.get("type") or "replicating"
        sel_desc = stype
        labels: dict[str, list[str]] = {}
        if stype.lower() == "multiplexing" or stype.endswith("MultiplexingChannelSelector"):
            header = sel.get("header") or "flume.selector.header"
            sel_desc = f"{stype} on header {header}"
            for kind in ("mapping.", "optional."):
                for value, chans in sel.sub(kind).items():
                    for c in chans.split():
                        tag = f"{header}={value}" + (" (optional)" if kind == "optional." else "")
                        labels.setdefault(c, []).append(tag)
            for c in (sel.get("default") or "").split():
                labels.setdefault(c, []).append("default")
        if sel.get("optional"):
            for c in (sel.get("optional") or "").split():
                labels.setdefault(c, []).append("optional")
        interceptors = [(i, ctx.get(f"interceptors.{i}.type") or "type missing")
                        for i in (ctx.get("interceptors") or "").split()]
        sources.append(_Source(name, _type(cs), (ctx.get("channels") or "").split(), sel_desc, interceptors,
                               labels))
    channels = {name: _type(cs) for name, cs in spec.channels.items()}
    sinks = {name: (_type(cs), cs.ctx.get("channel") or "") for name, cs in spec.sinks.items()}
    groups = {name: (gs.ctx.get("processor.type") or "default", (gs.ctx.get("sinks") or "").split())
              for name, gs in spec.sinkgroups.items()}
    return _Graph(spec.name, spec.file, sources, channels, sinks, groups)


def render(spec: AgentSpec, fmt: str = "text") -> str:
    """The topology of ``spec`` in ``fmt``: text, dot or mermaid."""
    g = _model(spec)
    if fmt == "text":
        return _text(g)
    if fmt == "dot":
        return _dot(g)
    if fmt == "mermaid":
        return _mermaid(g)
    raise ValueError(f"unknown graph format {fmt!r}; expected one of {', '.join(FORMATS)}")


# -- text ------------------------------------------------------------------------------------------
def _text(g: _Graph) -> str:
    out = [f"agent {g.name}" + (f" ({g.file})" if g.file else "")]

    def channel_line(indent: str, c: str, label: list[str]) -> None:
        tag = f"  [{', '.join(label)}]" if label else ""
        if c in g.channels:
            out.append(f"{indent}-> channel {c} [{g.channels[c]}]{tag}")
            for s in g.sinks_of(c):
                out.append(f"{indent}     -> {sink_desc(s)}")
        else:
            out.append(f"{indent}-> channel {c} (not declared){tag}")

    def sink_desc(s: str) -> str:
        grp = g.group_of(s)
        more = f" in group {grp} [{g.groups[grp][0]}]" if grp else ""
        return f"sink {s} [{g.sinks[s][0]}]{more}"

    fed: set[str] = set()
    for src in g.sources:
        out.append(f"source {src.name} [{src.type}]")
        if src.interceptors:
            out.append("  interceptors: " + " -> ".join(f"{i} [{t}]" for i, t in src.interceptors))
        out.append(f"  selector: {src.selector}")
        if not src.channels:
            out.append("  -> (no channels)")
        for c in src.channels:
            channel_line("  ", c, src.edge_labels.get(c, []))
            fed.add(c)
    for c, ctype in g.channels.items():
        if c in fed:
            continue
        out.append(f"channel {c} [{ctype}] (no source)")
        sinks = g.sinks_of(c)
        for s in sinks:
            out.append(f"  -> {sink_desc(s)}")
        if not sinks:
            out.append("  (no sinks either)")
    for s, (stype, ch) in g.sinks.items():
        if ch not in g.channels:
            where = f"channel {ch} (not declared)" if ch else "no channel"
            out.append(f"sink {s} [{stype}] <- {where}")
    for name, (ptype, members) in g.groups.items():
        marked = [m if m in g.sinks else f"{m} (not declared)" for m in members]
        out.append(f"sink group {name} [{ptype}]: {', '.join(marked) or '(no sinks)'}")
    return "\n".join(out)


# -- dot -------------------------------------------------------------------------------------------
def _q(*lines: str) -> str:
    text = "\n".join(lines)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(g: _Graph) -> str:
    out = [f"digraph {_q(g.name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    declared_missing: set[str] = set()

    def missing(kind: str, name: str) -> str:
        nid = f"{kind}:{name}"
        if nid not in declared_missing:
            declared_missing.add(nid)
            out.append(f"  {_q(nid)} [label={_q(name, '(not declared)')}, shape=box, style=dashed];")
        return nid

    for src in g.sources:
        label = f"{src.name}\n{src.type}"
        if src.interceptors:
            label += "\ninterceptors: " + ", ".join(f"{i} ({t})" for i, t in src.interceptors)
        label += f"\nselector: {src.selector}"
        out.append(f"  {_q('source:' + src.name)} [label={_q(label)}, shape=box, style=rounded];")
    for c, ctype in g.channels.items():
        out.append(f"  {_q('channel:' + c)} [label={_q(c, ctype)}, shape=cylinder];")
    grouped = {m for _, members in g.groups.values() for m in members}
    for s, (stype, _) in g.sinks.items():
        if s not in grouped:
            out.append(f"  {_q('sink:' + s)} [label={_q(s, stype)}, shape=box];")
    for i, (name, (ptype, members)) in enumerate(g.groups.items()):
        out.append(f"  subgraph {_q(f'cluster_{i}')} {{")
        out.append(f"    label={_q(f'sink group {name} ({ptype})')}; style=dashed;")
        for m in members:
            if m in g.sinks:
                out.append(f"    {_q('sink:' + m)} [label={_q(m, g.sinks[m][0])}, shape=box];")
        out.append("  }")
    for src in g.sources:
        for c in src.channels:
            target = f"channel:{c}" if c in g.channels else missing("channel", c)
            labels = src.edge_labels.get(c)
            attr = f" [label={_q(', '.join(labels))}]" if labels else ""
            out.append(f"  {_q('source:' + src.name)} -> {_q(target)}{attr};")
    for s, (_, ch) in g.sinks.items():
        if not ch:
            continue
        origin = f"channel:{ch}" if ch in g.channels else missing("channel", ch)
        out.append(f"  {_q(origin)} -> {_q('sink:' + s)};")
    out.append("}")
    return "\n".join(out)


# -- mermaid ---------------------------------------------------------------------------------------
def _mid(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _ml(*lines: str) -> str:
    text = "<br/>".join(lines)
    return '"' + text.replace('"', "#quot;") + '"'


def _mermaid(g: _Graph) -> str:
    out = ["flowchart LR"]
    missing_done: set[str] = set()

    def missing(name: str) -> str:
        nid = _mid("channel", name)
        if nid not in missing_done:
            missing_done.add(nid)
            out.append(f"  {nid}[{_ml(name, '(not declared)')}]")
        return nid

    for src in g.sources:
        lines = [src.name, src.type]
        if src.interceptors:
            lines.append("interceptors: " + ", ".join(f"{i} ({t})" for i, t in src.interceptors))
        lines.append(f"selector: {src.selector}")
        out.append(f"  {_mid('source', src.name)}([{_ml(*lines)}])")
    for c, ctype in g.channels.items():
        out.append(f"  {_mid('channel', c)}[({_ml(c, ctype)})]")
    grouped = {m for _, members in g.groups.values() for m in members}
    for s, (stype, _) in g.sinks.items():
        if s not in grouped:
            out.append(f"  {_mid('sink', s)}[{_ml(s, stype)}]")
    for name, (ptype, members) in g.groups.items():
        out.append(f"  subgraph {_mid('group', name)}[{_ml(f'sink group {name} ({ptype})')}]")
        for m in members:
            if m in g.sinks:
                out.append(f"    {_mid('sink', m)}[{_ml(m, g.sinks[m][0])}]")
        out.append("  end")
    for src in g.sources:
        for c in src.channels:
            target = _mid("channel", c) if c in g.channels else missing(c)
            labels = src.edge_labels.get(c)
            arrow = f" -->|{_ml(', '.join(labels))}| " if labels else " --> "
            out.append(f"  {_mid('source', src.name)}{arrow}{target}")
    for s, (_, ch) in g.sinks.items():
        if not ch:
            continue
        origin = _mid("channel", ch) if ch in g.channels else missing(ch)
        out.append(f"  {origin} --> {_mid('sink', s)}")
    return "\n".join(out)
