"""A Hypothesis state machine over the freeze path: reports, anomalies, exchange outages and recoveries,
workers that die between the exchange call and recording it, and owners who ask for the unfreeze early.

The exchange is the real HTTP back office (signed requests, idempotency keys, injected 503s) over the
test database. After every step: at most one open incident per account, no account frozen twice, no
unfreeze without a passed verification and approvals, the audit chain verifies. At the end, once the
exchange is back and the outbox drained, every requested freeze was executed exactly once.
"""
from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from app import create_app
from app.db import make_engine, make_sessionmaker, utcnow
from exchange_sim.server import ExchangeServer
from incidents.audit import seal_all, verify_chain
from incidents.outbox.calls import call_exchange
from incidents.outbox.exchange import claim_due
from exchange_sim.models import BackofficeAccount, BackofficeRequest
from incidents.models import OPEN_STATUSES, ExchangeCommand, Incident
from tests.conftest import make_settings
from tests.factories import bearer, report_body, signed_anomaly
from tests.incidents.exchange_peer import API_KEY, API_SECRET, http_exchange_settings, open_account

ACCOUNTS = ("U-alpha", "U-bravo", "U-charlie")
ANOMALY_TYPES = ("new_device_login", "sim_swap", "two_factor_disabled", "password_reset", "not_a_known_type")
DAY = timedelta(days=1)


class FreezePath(RuleBasedStateMachine):
    """The freeze outbox against a real, sometimes failing exchange."""

    template: Path

    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="lockdesk-stateful-"))
        path = self.folder / "lockdesk.sqlite"
        shutil.copyfile(self.template, path)
        url = f"sqlite:///{path}"
        self.exchange_engine = make_engine(url)
        self.server = ExchangeServer(make_sessionmaker(self.exchange_engine), api_key=API_KEY,
                                     secret=API_SECRET).start()
        instance = self.folder / "instance"
        instance.mkdir()
        config = {**make_settings(url, instance), **http_exchange_settings(self.server, EXCHANGE_MAX_ATTEMPTS=1),
                  "FREEZE_WAIT_MS": 3000}
        self.app = create_app(config)
        self.client = self.app.test_client()
        self.sessions = self.app.extensions["lockdesk"].sessions
        self.dispatcher = self.app.extensions["lockdesk"].ports.dispatcher
        with self.sessions() as session:
            for account in ACCOUNTS:
                open_account(session, account)
        self.tokens: dict[str, str] = {}
        self.clock = utcnow()
        self.is_down = False

    def teardown(self):
        """Stop the exchange and drop the files."""
        self.dispatcher.shutdown()
        self.server.stop()
        self.app.extensions["lockdesk"].engine.dispose()
        self.exchange_engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _later(self) -> None:
        """Move the workers' clock a day on: backoffs and lost leases are all due."""
        self.clock += DAY

    @rule(account=st.sampled_from(ACCOUNTS))
    def owner_reports(self, account):
        answer = self.client.post("/api/v1/reports", json=report_body(account))
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
        body = answer.get_json()
        assert body["incident"]["containment"] in ("frozen", "freeze_pending")
        if self.is_down:
            assert body["incident"]["containment"] != "frozen" or body["attached"]
        self.tokens[account] = body["access_token"]

    @rule(account=st.sampled_from(ACCOUNTS), kind=st.sampled_from(ANOMALY_TYPES))
    def risk_engine_reports(self, account, kind):
        raw, headers = signed_anomaly({"event_id": uuid.uuid4().hex, "account_id": account, "type": kind,
                                       "occurred_at": utcnow().isoformat()})
        answer = self.client.post("/api/v1/anomalies", data=raw, headers=headers)
        assert answer.status_code == 202, answer.get_data(as_text=True)

    @rule()
    def exchange_goes_down(self):
        self.server.faults.configure(fail_next=10**6, fail_status=503, retry_after=None)
        self.is_down = True

    @rule()
    def exchange_recovers(self):
        self.server.faults.configure(fail_next=0)
        self.is_down = False

    @rule()
    def worker_drains(self):
        self._later()
        self.dispatcher.drain(now=self.clock, max_rounds=20)

    @rule()
    def worker_dies_after_calling_the_exchange(self):
        """Claim a due command, let the exchange act on it, and never record the outcome (the lease lapses)."""
        self._later()
        with self.sessions() as session:
            claims = claim_due(session, worker="doomed", policy=self.dispatcher.policy, limit=1, now=self.clock)
        for claim in claims:
            call_exchange(self.dispatcher.exchange, claim, policy=self.dispatcher.policy)

    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def owner_asks_for_the_unfreeze_without_proof(self, data):
        account = data.draw(st.sampled_from(sorted(self.tokens)))
        headers = bearer(self.tokens[account])
        incident = self.client.get("/api/v1/verifications/" + str(uuid.uuid4()), headers=headers)
        assert incident.status_code == 404
        own = self._open_incident_id(account)
        if own is None:
            return
        started = self.client.post(f"/api/v1/incidents/{own}/verifications", headers=headers)
        if started.status_code == 201:  # the account's details are fetched on demand: it starts at once
            kinds = {factor["kind"] for factor in started.get_json()["factors"]}
            factor = "totp" if "totp" in kinds else "sms/check"
            if factor == "sms/check":  # an SMS code is checked only once one was sent
                self.client.post(f"/api/v1/verifications/{started.get_json()['id']}/sms", headers=headers)
            wrong = self.client.post(f"/api/v1/verifications/{started.get_json()['id']}/{factor}",
                                     json={"code": "000000"}, headers=headers)
            assert wrong.status_code in (422, 429), wrong.get_data(as_text=True)
        asked = self.client.post(f"/api/v1/incidents/{own}/unfreeze-requests", headers=headers)
        assert asked.status_code in (404, 409), asked.get_data(as_text=True)

    def _open_incident_id(self, account: str) -> str | None:
        """The account's open incident, if any."""
        with self.sessions() as session:
            found = session.scalar(select(Incident.id).where(Incident.account_id == account,
                                                             Incident.status.in_(OPEN_STATUSES)))
        return str(found) if found else None

    @invariant()
    def one_open_incident_per_account(self):
        with self.sessions() as session:
            counts = session.execute(select(Incident.account_id, func.count()).where(
                Incident.status.in_(OPEN_STATUSES)).group_by(Incident.account_id)).all()
        assert all(count == 1 for _account, count in counts), counts

    @invariant()
    def nothing_frozen_twice_and_never_unfrozen(self):
        with self.sessions() as session:
            twice = session.scalar(select(func.count()).where(BackofficeAccount.freezes > 1))
            unfreezes = session.scalar(select(func.count()).select_from(BackofficeRequest)
                                       .where(BackofficeRequest.operation == "unfreeze"))
            commands = session.scalar(select(func.count()).where(ExchangeCommand.action == "unfreeze"))
        assert twice == 0 and unfreezes == 0 and commands == 0

    @invariant()
    def audit_chain_verifies(self):
        with self.sessions() as session:
            seal_all(session)
            check = verify_chain(session)
            assert check.valid and check.pending == 0

    def check_every_freeze_ran_once(self):
        """Once the exchange is back and the outbox drained, each freeze was executed exactly once."""
        self.exchange_goes_down()  # leave no doubt the recovery below is what lets the outbox drain
        self.exchange_recovers()
        for _ in range(5):
            self._later()
            self.dispatcher.drain(now=self.clock, max_rounds=50)
        with self.sessions() as session:
            freezes = session.execute(select(ExchangeCommand.id, ExchangeCommand.account_id,
                                             ExchangeCommand.status).where(ExchangeCommand.action == "freeze")).all()
            keys = {row.idempotency_key: row.account_id for row in session.scalars(
                select(BackofficeRequest).where(BackofficeRequest.operation == "freeze"))}
            frozen = {row.id: row.freezes for row in session.scalars(select(BackofficeAccount))}
            contained = session.scalars(select(Incident.containment).join(
                ExchangeCommand, ExchangeCommand.incident_id == Incident.id).where(
                ExchangeCommand.action == "freeze")).all()
        assert all(row.status == "done" for row in freezes), freezes
        assert keys == {str(row.id): row.account_id for row in freezes}
        for row in freezes:
            assert frozen[row.account_id] == 1
        assert set(contained) <= {"frozen"}, contained


@pytest.mark.slow
def test_the_freeze_path_holds_under_outages_crashes_and_hostile_order(sqlite_template):
    class Run(FreezePath):
        template = sqlite_template

        def teardown(self):
            try:
                self.check_every_freeze_ran_once()
            finally:
                super().teardown()

    Run.TestCase.settings = settings(max_examples=6, stateful_step_count=12, deadline=None, derandomize=True,
                                     suppress_health_check=list(HealthCheck))
    Run.TestCase().runTest()
