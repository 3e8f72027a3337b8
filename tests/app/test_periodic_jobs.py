"""The worker's periodic jobs run one by one: a failing job is logged by name and those after it still run.
The ports answer `in` only for their own fields."""
from __future__ import annotations

import pytest

import logging

from app.jobs import Worker, run_jobs
from app.ports import Ports
from incidents.outbox.lease import DispatchPolicy


class Dispatcher:
    """Just what the worker loop asks of the dispatcher."""

    policy = DispatchPolicy()

    def __init__(self):
        self.wake_hooks: list = []

    def on_wake(self, hook) -> None:
        self.wake_hooks.append(hook)

    def dispatch_due(self) -> int:
        return 2


def broken_sweep() -> int:
    raise RuntimeError("database down")


def test_a_failing_periodic_job_is_logged_by_name_and_the_jobs_after_it_still_run(caplog):
    ran: list[str] = []
    worker = Worker(Dispatcher())  # type: ignore[arg-type]
    worker.periodic = [lambda: ran.append("first") or 1, broken_sweep, lambda: ran.append("last") or 3]
    with caplog.at_level(logging.ERROR, logger="lockdesk.jobs"):
        assert worker._tick() == 2 + 1 + 3
    assert ran == ["first", "last"]
    assert any("broken_sweep" in record.getMessage() for record in caplog.records)


def test_run_jobs_counts_the_work_of_the_jobs_that_ran():
    assert run_jobs([lambda: 4, broken_sweep, lambda: 1]) == 5
    assert run_jobs([]) == 0


def test_ports_are_attributes_only_so_a_misspelled_port_fails_loudly():
    worker = object()
    ports = Ports(worker=worker)
    assert ports.worker is worker and ports.dispatcher is None
    with pytest.raises(TypeError):
        ports["worker"]  # no lookup by string: the name is checked where it is written
    with pytest.raises(TypeError):
        Ports(wroker=worker)


def test_a_periodic_job_that_found_nothing_waits_a_poll_interval_unless_the_worker_is_woken():
    calls = {"idle": 0, "busy": 0}

    def idle() -> int:
        calls["idle"] += 1
        return 0

    def busy() -> int:
        calls["busy"] += 1
        return 1

    worker = Worker(Dispatcher(), poll_seconds=3600)  # type: ignore[arg-type]
    worker.periodic = [idle, busy]
    assert worker._tick() == 2 + 1
    assert worker._tick() == 2 + 1
    assert calls == {"idle": 1, "busy": 2}  # the busy job ran at each tick, the idle one waits its interval
    worker.wake()
    worker._tick()
    assert calls == {"idle": 2, "busy": 3}
