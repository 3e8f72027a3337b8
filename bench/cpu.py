"""Where a report's CPU goes: the CPU time of each part of the stack, read from /proc (Linux).

A part is a process and everything it started (gunicorn's workers, the worker behind `nice`);
PostgreSQL is every `postgres` process, Redis (the rate limits) every `redis-server`, the load
generator is this process's finished children. A process's time includes that of its children that
have exited, so a PostgreSQL backend that ends between two readings still counts, through the postmaster.
"""
from __future__ import annotations

import os
import resource
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: its parent, its command name and its CPU seconds (user + system, its own and its
    exited children's)."""
    found: dict[int, tuple[int, str, float]] = {}
    for entry in PROC.glob("[0-9]*/stat"):
        try:
            raw = entry.read_text()
        except OSError:  # gone since the listing
            continue
        name, fields = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        found[int(entry.parent.name)] = (int(fields[1]), name, ticks / TICKS)
    return found


def _descendants(root: int, processes: dict[int, tuple[int, str, float]]) -> set[int]:
    """The root and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _name, _seconds) in processes.items():
        children.setdefault(parent, []).append(pid)
    family, todo = set(), [root]
    while todo:
        pid = todo.pop()
        family.add(pid)
        todo.extend(children.get(pid, ()))
    return family


def reading(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named part (a root pid and its descendants), PostgreSQL and the load."""
    processes = _processes()
    seconds = {name: sum(processes[pid][2] for pid in _descendants(root, processes) if pid in processes)
               for name, root in roots.items()}
    seconds["postgresql"] = sum(cpu for _parent, name, cpu in processes.values() if name.startswith("postgres"))
    seconds["redis"] = sum(cpu for _parent, name, cpu in processes.values() if name.startswith("redis-server"))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds["load generator"] = usage.ru_utime + usage.ru_stime  # run_load's processes, once finished
    return seconds


def per_report(before: dict[str, float], after: dict[str, float], reports: int) -> dict[str, float]:
    """Milliseconds of CPU per report of each part between two readings."""
    return {name: round((after[name] - before.get(name, 0.0)) * 1000 / max(reports, 1), 2) for name in after}
