"""The ``flumepy`` command: agent, check, describe, components, graph, version.

``flumepy agent`` accepts flume-ng's flags: ``-n/--name``, ``-f/--conf-file``, ``-c/--conf``,
``-Dkey=value``, ``--no-reload-conf``.  Errors are printed without a traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from flumepy._version import __version__
from flumepy.core.errors import ConfigError, FlumeError, Problem

STOP_REPORT_AFTER = 15.0  # seconds past the drain timeout before a slow stop dumps its threads' stacks

log = logging.getLogger("flumepy")

LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
          "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL, "OFF": 100}


def parse_defines(defines: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``-Dkey=value`` options as a dict, plus warnings for malformed ones (never fatal)."""
    out: dict[str, str] = {}
    warnings = []
    for d in defines:
        key, eq, value = d.partition("=")
        if not eq or not key:
            warnings.append(f"ignoring malformed option -D{d}: expected -Dkey=value "
                            f"(e.g. -Dflume.root.logger=INFO,console)")
            continue
        out[key.strip()] = value.strip()
    return out, warnings


def setup_logging(system: dict[str, str], debug: bool) -> list[str]:
    warnings = []
    level = logging.DEBUG if debug else logging.INFO
    spec = system.get("flume.root.logger")
    if spec:
        name = spec.split(",")[0].strip().upper()
        if name in LEVELS:
            level = LEVELS[name]
        else:
            warnings.append(f"-Dflume.root.logger={spec}: unknown level {name!r}; using INFO "
                            f"(expected one of {', '.join(LEVELS)})")
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s")
    return warnings


def _registry():  # type: ignore[no-untyped-def]
    from flumepy.registry import Registry

    return Registry.from_entry_points()


def print_problems(problems: Sequence[Problem], stream=sys.stderr) -> None:  # type: ignore[no-untyped-def]
    for p in problems:
        print(p.format(), file=stream)


# -- commands --------------------------------------------------------------------------------------
def cmd_agent(args: argparse.Namespace) -> int:
    from flumepy.agent import Agent, load_agent_spec, tune_runtime

    system, dwarn = parse_defines(args.define or [])
    for w in setup_logging(system, args.debug) + dwarn:
        log.warning("%s", w)
    path = _conf_path(args.conf_file, args.conf)
    log.debug("flumepy %s: agent %s from %s, system properties %s", __version__, args.name, path, system)
    agent = Agent(_registry(), drain_timeout=args.drain_timeout)
    from flumepy.reload import digest

    loaded = digest(path)  # what the reload watcher compares against
    spec = load_agent_spec(path, args.name, system)
    topo, problems = agent.build(spec, strict=args.strict)
    for p in problems:
        log.warning("%s", p.format())
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.start(topo)
    tune_runtime()
    log.info("agent %s started from %s: %d sources, %d channels, %d sinks", args.name, path,
             len(topo.sources), len(topo.channels), len(topo.sinks))
    monitor = None
    if system.get("flume.monitoring.type"):
        from flumepy.monitoring import start_monitoring

        monitor = start_monitoring(agent, system)
    watcher = None
    if not args.no_reload_conf:
        from flumepy.reload import ConfigWatcher

        def apply() -> None:
            try:
                new = load_agent_spec(path, args.name, system)
                for p in agent.reload(new, strict=args.strict):
                    log.warning("%s", p.format())
            except ConfigError as e:
                log.error("configuration change in %s not applied; still running the previous one:\n%s",
                          path, e)

        watcher = ConfigWatcher(path, apply, poll_interval=args.poll_interval, baseline=loaded)
        watcher.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        # A stop that hangs says where: every thread's stack goes to stderr once stopping (and the
        # interpreter's exit after it) takes longer than the drain plus STOP_REPORT_AFTER seconds.
        # Nothing is killed; the timer dies with the process.
        faulthandler.dump_traceback_later(max(args.drain_timeout, 0) + STOP_REPORT_AFTER, file=sys.stderr)
        if watcher is not None:
            watcher.stop()
        agent.stop()
        if monitor is not None:
            monitor.stop()
        log.info("agent %s stopped", args.name)
    return 0


def _conf_path(conf_file: str, conf_dir: str | None) -> str:
    if not os.path.exists(conf_file) and conf_dir and not os.path.isabs(conf_file):
        candidate = os.path.join(conf_dir, conf_file)
        if os.path.exists(candidate):
            return candidate
    return conf_file


def cmd_check(args: argparse.Namespace) -> int:
    from flumepy.agent import load_agent_spec, sort_problems
    from flumepy.config.model import agent_names
    from flumepy.config.properties import load_properties
    from flumepy.topology import build_topology

    system, dwarn = parse_defines(args.define or [])
    for w in dwarn:
        print(f"warning: {w}", file=sys.stderr)
    path = _conf_path(args.conf_file, args.conf)
    names = [args.name] if args.name else agent_names(load_properties(path))
    if not names:
        print(f"{path}: no agents found (expected keys like <agent>.sources = ...)", file=sys.stderr)
        return 1
    registry = _registry()
    failed = False
    for name in names:
        spec = load_agent_spec(path, name, system)
        topo, problems = build_topology(spec, registry)
        problems = sort_problems(problems)
        print_problems(problems, sys.stdout)
        n_err = sum(p.level == "error" for p in problems)
        n_warn = len(problems) - n_err
        bad = n_err or (args.strict and n_warn)
        failed = failed or bool(bad)
        verdict = "FAILED" if bad else "OK"
        print(f"agent {name}: {verdict}: {n_err} error(s), {n_warn} warning(s); "
              f"{len(topo.sources)} source(s), {len(topo.channels)} channel(s), {len(topo.sinks)} sink(s)")
    return 1 if failed else 0


def cmd_describe(args: argparse.Namespace) -> int:
    from flumepy.docs import describe

    reg = _registry()
    print(describe(reg, args.type, args.kind))
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from flumepy.registry import KINDS

    reg = _registry()
    for kind in KINDS:
        print(f"{kind}:")
        for name in reg.names(kind):
            e = reg.entries(kind)[name.lower()]
            print(f"  {name:<22} {e.origin}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from flumepy.agent import load_agent_spec
    from flumepy.graph import render

    system, _ = parse_defines(args.define or [])
    spec = load_agent_spec(_conf_path(args.conf_file, args.conf), args.name, system)
    print(render(spec, args.format))
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"flumepy {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flumepy", description="Run Apache Flume agent configs in Python.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def conf_args(sp: argparse.ArgumentParser, name_required: bool) -> None:
        sp.add_argument("-n", "--name", required=name_required, help="agent name (the key prefix)")
        sp.add_argument("-f", "--conf-file", required=True, help="Flume .properties configuration file")
        sp.add_argument("-c", "--conf", help="configuration directory (flume-ng -c)")
        sp.add_argument("-D", dest="define", action="append", metavar="KEY=VALUE", help="system property")
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    a = sub.add_parser("agent", help="run an agent")
    conf_args(a, True)
    a.add_argument("--no-reload-conf", action="store_true", help="do not reload the file when it changes")
    a.add_argument("--strict", action="store_true", help="treat configuration warnings as errors")
    a.add_argument("-i", "--poll-interval", type=float, default=30.0,
                   help="seconds between config checks when file events are unavailable")
    a.add_argument("--drain-timeout", type=float, default=10.0,
                   help="seconds sinks may drain their channels on shutdown")
    a.set_defaults(func=cmd_agent)

    c = sub.add_parser("check", help="validate a config and report every problem")
    conf_args(c, False)
    c.add_argument("--strict", action="store_true", help="warnings fail the check too")
    c.set_defaults(func=cmd_check)

    d = sub.add_parser("describe", help="the keys a component type reads")
    d.add_argument("type", help="type alias, Flume class name or module:Class")
    d.add_argument("--kind", help="sources, channels, sinks, ... (when an alias is ambiguous)")
    d.set_defaults(func=cmd_describe)

    sub.add_parser("components", help="list built-in and plugin types").set_defaults(func=cmd_components)

    g = sub.add_parser("graph", help="show an agent's topology")
    conf_args(g, True)
    g.add_argument("--format", choices=("text", "dot", "mermaid"), default="text")
    g.set_defaults(func=cmd_graph)

    sub.add_parser("version", help="print the version").set_defaults(func=cmd_version)

    from flumepy.avro.cli import add_parser as add_avro_client

    add_avro_client(sub)

    from flumepy.hdfs_tools import add_parser as add_hdfs_tools

    add_hdfs_tools(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print_problems(e.problems)
        print("configuration has errors; the agent was not started" if args.command == "agent"
              else "configuration has errors", file=sys.stderr)
        return 1
    except FlumeError as e:
        if args.debug:
            raise
        print(f"flumepy: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
