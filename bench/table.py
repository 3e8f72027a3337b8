"""The targets the numbers are held to, and the table the README shows."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.wave import lockdesk_cpu, verdict, wave_cpu_within, wave_frozen_in_time, wave_rows

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured value and whether it is met."""
    met: dict[str, Any] = {}
    for kind, intake in results.get("intake", {}).items():
        ratios = intake["ratios"]
        met[f"intake_{kind}_throughput_ge_50pct_of_floor"] = ratios["throughput_intake_over_floor"] >= 0.5
        met[f"intake_{kind}_p99_le_3x_floor"] = ratios["p99_intake_over_floor_serial"] <= 3
        if "throughput_intake_over_bare" in ratios:  # issue 15: a leaner single report
            met[f"intake_{kind}_throughput_ge_80pct_of_bare"] = ratios["throughput_intake_over_bare"] >= 0.8
        if "cpu_ms_per_report" in intake:
            met[f"intake_{kind}_own_cpu_le_4x_floor"] = own_cpu(intake["cpu_ms_per_report"])["times_floor"] <= 4
    for kind, burst in results.get("burst", {}).items():
        sent_all = burst.get("sent", burst["reports"]) == burst["reports"]
        met[f"burst_{kind}_drained_le_60s"] = sent_all and burst["last_frozen_s"] is not None and burst[
            "last_frozen_s"] <= 60
        met[f"burst_{kind}_nothing_lost_nothing_twice"] = burst["lost"] == 0 and burst["frozen_twice"] == 0
    for kind, wave in results.get("wave", {}).items():
        met[f"wave_{kind}_frozen_le_10s"] = wave_frozen_in_time(wave)
        met[f"wave_{kind}_nothing_lost_nothing_twice"] = wave["lost"] == 0 and wave["frozen_twice"] == 0
        met[f"wave_{kind}_cpu_per_account_le_floor"] = wave_cpu_within(wave, floor_cpu(results))
    if "cold" in results.get("trace", {}):
        met["trace_cold_within_depth_plus_2"] = results["trace"]["cold_within_depth_plus_2"]
    for kind, scale in results.get("scale", {}).items():
        met[f"scale_{kind}_deep_page_ratio_le_2"] = scale["deep_page_ms_ratio_largest_over_smallest"] <= 2
        met[f"scale_{kind}_first_page_ratio_le_2"] = scale["first_page_ms_ratio_largest_over_smallest"] <= 2
    return met


def own_cpu(cpu: dict[str, Any]) -> dict[str, float]:
    """Lockdesk's own CPU per report until its follow-ups were done (web, worker, PostgreSQL, Redis), against the
    floor's request measured the same way (its own processes) and against the floor's whole request (the load
    generator's share included, as the CPU row's "floor … ms a request" counts it)."""
    mine, floor = lockdesk_cpu(cpu["with_follow_ups"]), cpu["floor"]
    floor_own, floor_whole = lockdesk_cpu(floor), round(sum(floor.values()), 2)
    return {"ms": mine, "floor_own_ms": floor_own, "floor_whole_ms": floor_whole,
            "times_floor": round(mine / floor_own, 2) if floor_own else float("inf"),
            "times_floor_whole": round(mine / floor_whole, 2) if floor_whole else float("inf")}


def floor_cpu(results: dict[str, Any]) -> float | None:
    """Lockdesk's CPU per floor request on PostgreSQL in the same run (None when intake was not measured)."""
    floor = results.get("intake", {}).get("postgresql", {}).get("cpu_ms_per_report", {}).get("floor")
    return lockdesk_cpu(floor) if floor else None


def render(results: dict[str, Any]) -> str:
    """A Markdown table of everything measured."""
    env = results["environment"]
    server = results["server"]
    lines = [f"Measured by `make bench` on {env['cores']} cores ({env['machine']}), Python {env['python']}, "
             f"PostgreSQL {env['postgresql']}, SQLite {env['sqlite']}, gunicorn {env['gunicorn']} "
             f"({server['gunicorn_workers']} {server['worker_class']} workers × {server['threads']} threads), "
             f"one `flask worker` (nice {server.get('flask_worker_niceness', 0)}), rate limits in "
             f"{server.get('rate_limit_storage', 'memory')}, the exchange over HTTP; medians of {results['sizes']['runs']} runs"
             f"{' (quick sizes)' if results['quick'] else ''}; the whole bench took {results['bench_seconds']} s.", "",
             "| measurement | value | against | ratio | target |", "|---|---|---|---|---|"]
    for kind, intake in results.get("intake", {}).items():
        floor_load, intake_load = intake["floor_load"], intake["intake_load"]
        floor_serial, intake_serial = intake["floor_serial"], intake["intake_serial"]
        ratios = intake["ratios"]
        lines += [
            f"| intake {kind}: reports/s ({intake['clients']} clients) | {intake_load['per_second']} "
            f"| floor {floor_load['per_second']} req/s | {ratios['throughput_intake_over_floor']} "
            f"| ≥ 0.5: {verdict(ratios['throughput_intake_over_floor'] >= 0.5)} |",
            f"| intake {kind}: report→frozen p50 / p99, one client | {intake_serial['p50_ms']} / "
            f"{intake_serial['p99_ms']} ms | floor {floor_serial['p50_ms']} / {floor_serial['p99_ms']} ms "
            f"| p99 × {ratios['p99_intake_over_floor_serial']} | ≤ 3: "
            f"{verdict(ratios['p99_intake_over_floor_serial'] <= 3)} |",
            f"| intake {kind}: p50 / p99 under load | {intake_load['p50_ms']} / {intake_load['p99_ms']} ms "
            f"| floor {floor_load['p50_ms']} / {floor_load['p99_ms']} ms | p99 × "
            f"{ratios['p99_intake_over_floor_load']} | — |",
            f"| intake {kind}: answers saying `frozen` | {intake_serial['answered_frozen'] + intake_load['answered_frozen']}"
            f" of {intake_serial['requests'] + intake_load['requests']} | | | all |",
        ]
        if "bare_load" in intake:
            lines += _ceiling_rows(kind, intake)
        if "cpu_ms_per_report" in intake:
            lines += [_cpu_row(kind, intake["cpu_ms_per_report"]), _own_cpu_row(kind, intake["cpu_ms_per_report"])]
    for kind, burst in results.get("burst", {}).items():
        lines += [
            f"| burst {kind}: {burst.get('sent', burst['reports'])} of {burst['reports']} reports sent in the bench's time limit, "
            f"exchange answering in {burst['exchange_delay_ms']:.0f} ms "
            f"| last account frozen after {burst['last_frozen_s']} s{_burst_runs(burst)} "
            f"(all answered after {burst['all_answered_s']} s) "
            f"| | | all sent, ≤ 60 s: {verdict(results['targets'][f'burst_{kind}_drained_le_60s'])} |",
            f"| burst {kind}: lost / frozen twice | {burst['lost']} / {burst['frozen_twice']} "
            f"({burst['incidents']} incidents, {burst['freeze_commands']} freeze commands) | | | 0 / 0: "
            f"{verdict(burst['lost'] == 0 and burst['frozen_twice'] == 0)} |",
        ]
        if "cpu_ms_per_report_until_frozen" in burst:
            spent = burst["cpu_ms_per_report_until_frozen"]
            lines.append(f"| burst {kind}: CPU ms per report until the last freeze | "
                         f"{', '.join(f'{part} {ms}' for part, ms in spent.items())}; "
                         f"total {round(sum(spent.values()), 1)} | | | — |")
    for wave in results.get("wave", {}).values():
        lines += wave_rows(wave, floor_cpu(results))
    trace = results.get("trace", {})
    if "cold" in trace:
        for name in ("cold", "warm"):
            naive = trace[f"naive_{name}"]
            lines.append(f"| trace depth {trace['depth']} {name}: round trips, time | {trace[name]['round_trips']}, "
                         f"{trace[name]['ms']} ms | naive {naive['round_trips']}, {naive['ms']} ms "
                         f"| × {round(naive['ms'] / trace[name]['ms'], 1)} faster | "
                         + (f"≤ {trace['depth'] + 2}: {verdict(trace['cold_within_depth_plus_2'])} |"
                            if name == "cold" else "≤ 1 |"))
    tron = results.get("trace_tron", {})
    if "cold" in tron:
        for name in ("cold", "warm"):
            lines.append(f"| TRON trace depth {tron['depth']} {name}: round trips, time | "
                         f"{tron[name]['round_trips']}, {tron[name]['ms']} ms | | | — |")
    for kind, scale in results.get("scale", {}).items():
        cells = ", ".join(f"{level['incidents']:,}: {level['first_page_ms']} / {level['deep_page_ms']} ms"
                          for level in scale["levels"])
        ratio = scale["deep_page_ms_ratio_largest_over_smallest"]
        lines.append(f"| queue page {kind} (first / 90 % deep) | {cells} | | "
                     f"{scale['first_page_ms_ratio_largest_over_smallest']} / {ratio} "
                     f"| ≤ 2: {verdict(ratio <= 2 and scale['first_page_ms_ratio_largest_over_smallest'] <= 2)} |")
    return "\n".join(lines)


def _ceiling_rows(kind: str, intake: dict[str, Any]) -> list[str]:
    """The bare report (record, freeze at the exchange, record the answer; nothing else) against the floor: how
    near the floor any intake could come on this stack, and how near intake comes to it."""
    bare_load, bare_serial, ratios = intake["bare_load"], intake["bare_serial"], intake["ratios"]
    bare_cpu = intake.get("cpu_ms_per_report", {}).get("bare")
    spent = f"; CPU {round(sum(bare_cpu.values()), 1)} ms a report" if bare_cpu else ""
    return [
        f"| ceiling {kind}: bare report → frozen, reports/s ({intake['clients']} clients){spent} "
        f"| {bare_load['per_second']} | floor {intake['floor_load']['per_second']} req/s "
        f"| {ratios['throughput_bare_over_floor']} | — |",
        f"| ceiling {kind}: bare report p50 / p99, one client | {bare_serial['p50_ms']} / {bare_serial['p99_ms']} ms "
        f"| floor {intake['floor_serial']['p50_ms']} / {intake['floor_serial']['p99_ms']} ms "
        f"| p99 × {ratios['p99_bare_over_floor_serial']} | — |",
        *_stopped_row(kind, intake),
        f"| intake {kind} against the ceiling: reports/s | {intake['intake_load']['per_second']} "
        f"| bare {bare_load['per_second']} | {ratios['throughput_intake_over_bare']} "
        f"| ≥ 0.8: {verdict(ratios['throughput_intake_over_bare'] >= 0.8)} |",
    ]


def _stopped_row(kind: str, intake: dict[str, Any]) -> list[str]:
    """One client with the worker stopped: the report's own latency, without earlier reports' follow-ups."""
    stopped = intake.get("intake_serial_worker_stopped")
    if stopped is None:
        return []
    return [f"| intake {kind}: report→frozen p50 / p99, one client, worker stopped | {stopped['p50_ms']} / "
            f"{stopped['p99_ms']} ms | floor {intake['floor_serial']['p50_ms']} / {intake['floor_serial']['p99_ms']} ms "
            f"| p99 × {intake['ratios']['p99_intake_worker_stopped_over_floor_serial']} | — |"]


def _burst_runs(burst: dict[str, Any]) -> str:
    """Which of several runs the row shows: the median, and every run's time."""
    runs = burst.get("runs", [])
    stopped = burst.get("stopped_early")
    planned = f" ({len(runs)} of {burst['runs_planned']}: {stopped})" if stopped else ""
    if len(runs) < 2:
        return planned
    times = ", ".join("not all frozen" if run["last_frozen_s"] is None else f"{run['last_frozen_s']} s"
                      for run in runs)
    which = "the slower" if len(runs) == 2 else "the median"
    return f", {which} of {len(runs)} runs{planned}: {times}"


def _cpu_row(kind: str, cpu: dict[str, Any]) -> str:
    """CPU per report of each part of the stack: while the load ran / until its follow-ups were done."""
    load, settled = cpu["during_load"], cpu["with_follow_ups"]
    parts = ", ".join(f"{part} {load[part]} / {settled[part]}" for part in load)
    total = f"{round(sum(load.values()), 1)} / {round(sum(settled.values()), 1)}"
    floor = cpu.get("floor")
    against = f"floor {round(sum(floor.values()), 1)} ms a request" if floor else ""
    return (f"| intake {kind}: CPU ms per report, while loaded / until its follow-ups were done | {parts}; "
            f"total {total} | {against} | | — |")


def _own_cpu_row(kind: str, cpu: dict[str, Any]) -> str:
    """Lockdesk's own CPU per report until its follow-ups were done, against the floor's request (issue 15)."""
    own = own_cpu(cpu)
    return (f"| intake {kind}: Lockdesk's own CPU per report until its follow-ups were done (web, worker, "
            f"PostgreSQL, Redis) | {own['ms']} ms | floor {own['floor_own_ms']} ms a request in the same processes "
            f"({own['floor_whole_ms']} ms with the load generator's share) | × {own['times_floor']} "
            f"(× {own['times_floor_whole']}) | ≤ 4: {verdict(own['times_floor'] <= 4)} |")


def write_readme(path: Path, rendered: str) -> None:
    """Replace the table between the bench markers (or append a Benchmarks section if they are missing)."""
    text = path.read_text()
    block = f"{START}\n{rendered}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n## Benchmarks\n\n{block}\n"
    path.write_text(text)
