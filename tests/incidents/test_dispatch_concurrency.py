"""Many workers over one outbox: every command is executed exactly once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from incidents.outbox.dispatcher import Dispatcher
from incidents.outbox.lease import DispatchPolicy
from incidents.models import ExchangeCommand
from tests.incidents.exchange_peer import RecordingExchange

COMMANDS = 300


def test_two_workers_draining_one_outbox_execute_each_command_once(app, session):
    session.add_all(ExchangeCommand(account_id=f"U{index}", action="freeze",
                                    payload={"scope": "full", "reason": "test", "reference": f"INC-{index}"})
                    for index in range(COMMANDS))
    session.commit()
    exchange = RecordingExchange()
    sessions = app.extensions["lockdesk"].sessions
    policy = DispatchPolicy(batch_size=10)
    workers = [Dispatcher(sessions, exchange, policy=policy, concurrency=4, name=f"worker-{n}") for n in (1, 2)]
    threads = [threading.Thread(target=worker.drain) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.shutdown()
    assert len(exchange.calls) == COMMANDS and set(exchange.calls.values()) == {1}
    done = session.scalar(select(func.count()).select_from(ExchangeCommand).where(ExchangeCommand.status == "done"))
    assert done == COMMANDS
    claimed_by = set(session.scalars(select(ExchangeCommand.claimed_by)))
    assert claimed_by <= {"worker-1", "worker-2"}
