"""The coalescer: one batch at a time; what arrives meanwhile waits and goes together; a failure reaches every
waiter of its batch."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from app.db import utcnow
from incidents.outbox.calls import Claim
from incidents.outbox.coalesce import Coalescer


def claim(account_id: str) -> Claim:
    return Claim(command_id=uuid.uuid4(), token="t", action="freeze", account_id=account_id, incident_id=None,
                 payload={}, attempts=1, created_at=utcnow(), claimed_until=utcnow() + timedelta(minutes=1))


class Sender:
    """Records the batches; the first one waits until released."""

    def __init__(self, fail: bool = False):
        self.batches: list[list[str]] = []
        self.started, self.release, self.fail = threading.Event(), threading.Event(), fail

    def __call__(self, claims: list[Claim]) -> list[str]:
        self.batches.append([c.account_id for c in claims])
        self.started.set()
        assert self.release.wait(30)
        if self.fail:
            raise RuntimeError("database down")
        return [f"sent {c.account_id}" for c in claims]


def test_a_lone_claim_goes_at_once_and_those_that_arrive_meanwhile_go_together_in_batches_of_the_limit():
    sender = Sender()
    with ThreadPoolExecutor(2) as executor:
        coalescer = Coalescer(sender, executor, limit=2)
        first = coalescer.submit(claim("A"))
        assert sender.started.wait(30)
        waiting = [coalescer.submit(claim(account)) for account in ("B", "C", "D")]
        sender.release.set()
        assert [future.result(30) for future in [first, *waiting]] == ["sent A", "sent B", "sent C", "sent D"]
    assert sender.batches == [["A"], ["B", "C"], ["D"]]


def test_a_batch_that_failed_to_record_fails_each_of_its_waiters():
    sender = Sender(fail=True)
    sender.release.set()
    with ThreadPoolExecutor(1) as executor:
        future = Coalescer(sender, executor).submit(claim("A"))
        with pytest.raises(RuntimeError, match="database down"):
            future.result(30)


class Halt(BaseException):
    """An exit the sender's own error handling does not catch."""


class SwitchExecutor(ThreadPoolExecutor):
    """Refuses work while `refuse` is set, as an executor shutting down does."""

    refuse = False

    def submit(self, fn, /, *args, **kwargs):
        if self.refuse:
            raise RuntimeError("cannot schedule new futures after shutdown")
        return super().submit(fn, *args, **kwargs)


def test_an_exit_the_batch_handling_does_not_catch_fails_every_waiter_and_leaves_nothing_sending():
    calls: list[list[str]] = []

    def sender(claims: list[Claim]) -> list[str]:
        calls.append([c.account_id for c in claims])
        if len(calls) == 1:
            raise Halt()
        return [f"sent {c.account_id}" for c in claims]

    with ThreadPoolExecutor(1) as executor:
        coalescer = Coalescer(sender, executor)
        with pytest.raises(Halt):
            coalescer.submit(claim("A")).result(30)
        assert coalescer.submit(claim("B")).result(30) == "sent B"  # not stuck "sending"
    assert calls == [["A"], ["B"]]


def test_a_refused_submit_fails_every_waiting_claim_and_the_next_submit_sends_again():
    sender = Sender()
    sender.release.set()
    with SwitchExecutor(1) as executor:
        coalescer = Coalescer(sender, executor)
        executor.refuse = True
        refused = coalescer.submit(claim("A"))
        with pytest.raises(RuntimeError, match="after shutdown"):
            refused.result(30)
        executor.refuse = False
        assert coalescer.submit(claim("B")).result(30) == "sent B"
    assert sender.batches == [["B"]]
