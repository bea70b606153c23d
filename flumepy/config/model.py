"""The Flume configuration model: one agent's sources, channels, sinks and sink groups.

Keys look like ``<agent>.sources = r1 r2`` (name lists) and ``<agent>.sources.r1.<key> = value``
(component settings).  Only the requested agent is built; other agents in the file are ignored.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from flumepy.config.properties import PropertiesFile
from flumepy.core.context import Context, suggest
from flumepy.core.errors import Problem

SECTIONS = ("sources", "channels", "sinks", "sinkgroups", "configfilters")


@dataclass
class ComponentSpec:
    section: str  # one of SECTIONS
    name: str
    ctx: Context  # the component's keys relative to it ("type", "capacity", "hdfs.path", ...)
    listed: bool = False

    @property
    def type(self) -> str | None:
        return self.ctx.get("type")

    def fingerprint(self) -> tuple[tuple[str, str], ...]:
        """What makes two specs equal for reload: every key and value."""
        return tuple(sorted(self.ctx.items()))


@dataclass
class AgentSpec:
    name: str
    file: str
    components: dict[str, dict[str, ComponentSpec]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    problems: list[Problem] = field(default_factory=list)

    @property
    def sources(self) -> dict[str, ComponentSpec]:
        return self.components["sources"]

    @property
    def channels(self) -> dict[str, ComponentSpec]:
        return self.components["channels"]

    @property
    def sinks(self) -> dict[str, ComponentSpec]:
        return self.components["sinks"]

    @property
    def sinkgroups(self) -> dict[str, ComponentSpec]:
        return self.components["sinkgroups"]


def agent_names(props: PropertiesFile) -> list[str]:
    names: dict[str, None] = {}
    for key in props.values:
        head, dot, rest = key.partition(".")
        if dot and rest.split(".", 1)[0] in SECTIONS:
            names[head] = None
    return list(names)


def build_agent_spec(props: PropertiesFile, agent: str) -> AgentSpec:
    """Split the file into the agent's components; every structural problem is recorded, none raised."""
    spec = AgentSpec(agent, props.path)
    path = props.path
    others = set(agent_names(props)) - {agent}
    # File-level problems (duplicates, unresolved ${...}) of other agents' keys are not this agent's.
    spec.problems.extend(p for p in props.problems if p.key.partition(".")[0] not in others)

    def problem(level: str, key: str, msg: str) -> None:
        spec.problems.append(Problem(level, msg, key, path, props.line(key)))

    known_agents = agent_names(props)
    if agent not in known_agents:
        guess = suggest(agent, known_agents)
        found = ", ".join(known_agents) if known_agents else "none"
        hint = f"; did you mean {guess}?" if guess else ""
        spec.problems.append(Problem(
            "error", f"no agent named {agent!r} is configured in this file (agents found: {found}){hint}",
            "", path))
        return spec

    lists: dict[str, tuple[list[str], str]] = {}
    raw: dict[str, dict[str, tuple[dict[str, str], dict[str, int]]]] = {s: {} for s in SECTIONS}
    prefix = agent + "."
    for key, value in props.values.items():
        if not key.startswith(prefix):
            if "." not in key:
                problem("warning", key, "key has no agent name prefix (expected <agent>.<...>); ignored")
            continue
        rest = key[len(prefix):]
        if rest in SECTIONS:
            lists[rest] = (value.split(), key)
            continue
        section, dot, tail = rest.partition(".")
        if section not in SECTIONS or not dot:
            guess = suggest(section, SECTIONS)
            hint = f"; did you mean {agent}.{guess}?" if guess else ""
            problem("warning", key, f"unknown agent-level key, ignored{hint}")
            continue
        name, dot, sub = tail.partition(".")
        if not dot or not sub:
            problem("warning", key, f"expected {agent}.{section}.<name>.<key>; ignored")
            continue
        vals, lines = raw[section].setdefault(name, ({}, {}))
        vals[sub] = value
        lines[sub] = props.line(key)

    for section in SECTIONS:
        names, list_key = lists.get(section, ([], ""))
        seen: set[str] = set()
        for name in names:
            if name in seen:
                problem("warning", list_key, f"{name!r} is listed twice")
                continue
            seen.add(name)
            vals, lines = raw[section].get(name, ({}, {}))
            ctx = Context(vals, lines, f"{agent}.{section}.{name}.", path)
            spec.components[section][name] = ComponentSpec(section, name, ctx, listed=True)
            if not vals:
                problem("error", list_key,
                        f"{section[:-1]} {name!r} is listed but has no properties (expected "
                        f"{agent}.{section}.{name}.type = ...)")
            elif section != "sinkgroups" and "type" not in vals:
                spec.problems.append(Problem("error", "is required (the component type)",
                                             f"{agent}.{section}.{name}.type", path,
                                             min(lines.values(), default=0)))
        for name, (vals, lines) in raw[section].items():
            if name in seen:
                continue
            first = min(lines.values(), default=0)
            key0 = f"{agent}.{section}.{name}.{next(iter(vals))}"
            hint = ""
            guess = suggest(name, names)
            if guess:
                hint = f"; did you mean {guess}?"
            where = f"{agent}.{section}" + (f" (line {props.line(list_key)})" if list_key else "")
            spec.problems.append(Problem(
                "warning", f"{section[:-1]} {name!r} is configured but not listed in {where}; "
                f"it is ignored{hint}", key0, path, first))
    if not spec.channels:
        spec.problems.append(Problem("error", f"no channels are listed ({agent}.channels = ...)",
                                     f"{agent}.channels", path, props.line(f"{agent}.channels")))
    if not spec.sources and not spec.sinks:
        spec.problems.append(Problem("error", "the agent has no sources and no sinks", f"{agent}.sources",
                                     path, props.line(f"{agent}.sources")))
    _apply_config_filters(spec)
    return spec


_FILTER_REF = re.compile(r"""\$\{([A-Za-z0-9_-]+)\[['"]?([-_a-zA-Z0-9]+)['"]?\]\}""")


def _apply_config_filters(spec: AgentSpec) -> None:
    """Flume's config filters: ``${f['KEY']}`` in component values, for filters of type env/external."""
    filters = spec.components["configfilters"]
    if not filters:
        return
    resolvers: dict[str, Mapping[str, str] | _External] = {}
    for name, fs in filters.items():
        ftype = (fs.type or "").lower()
        if ftype in ("env", "org.apache.flume.configfilter.environmentvariableconfigfilter"):
            import os

            resolvers[name] = os.environ
        elif ftype in ("external", "org.apache.flume.configfilter.externalprocessconfigfilter"):
            cmd = fs.ctx.get("command")
            if not cmd:
                spec.problems.append(fs.ctx.problem("command", "is required for an external config filter"))
                continue
            resolvers[name] = _External(cmd)
        else:
            spec.problems.append(fs.ctx.problem(
                "type", f"unsupported config filter type {fs.type!r}; flumepy supports env and external"))
    for section in ("sources", "channels", "sinks", "sinkgroups"):
        for comp in spec.components[section].values():
            changed = {}
            for key, value in comp.ctx.items():
                if "${" not in value:
                    continue

                def repl(m: re.Match[str], key: str = key, comp: ComponentSpec = comp) -> str:
                    res = resolvers.get(m.group(1))
                    if res is None:
                        return m.group(0)
                    got = res.get(m.group(2))
                    if got is None:
                        spec.problems.append(comp.ctx.problem(
                            key, f"config filter {m.group(1)} has no value for {m.group(2)}; left as is",
                            "warning"))
                        return m.group(0)
                    return got

                changed[key] = _FILTER_REF.sub(repl, value)
            if changed:
                comp.ctx = comp.ctx.with_values(changed)


class _External:
    def __init__(self, command: str) -> None:
        self.command = command

    def get(self, key: str) -> str | None:
        try:
            out = subprocess.run([*self.command.split(), key], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.decode().strip()
