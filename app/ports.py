"""The application's ports, typed: one field per outside system or job, each filled once while create_app runs.

Product code, scripts and tests read them as attributes (`runtime().ports.dispatcher`); a test swapping an
adapter sets the attribute.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chain.explorers.port import Explorer
    from incidents.conversation.store import BlobStore
    from incidents.exchange.port import ExchangePort
    from incidents.mail import Mailer
    from incidents.outbox.dispatcher import Dispatcher
    from incidents.review_rules import ReviewPolicy
    from verification.sms import SmsGateway

Job = Callable[[], int]


@dataclass
class Ports:
    """Adapters (all chosen by app/adapters.py), the other init steps' transports, the dispatcher, the periodic jobs, the policies."""

    exchange: ExchangePort | None = None
    sms: SmsGateway | None = None
    mailer: Mailer | None = None
    blob_store: BlobStore | None = None
    explorers: dict[str, Explorer] = field(default_factory=dict)
    signing_key: Any = None
    notification_ports: Any = None
    webhook_transport: Any = None
    peer_transport: Any = None
    peers: Any = None
    dispatcher: Dispatcher | None = None
    worker: Any = None
    # The periodic jobs, run once per worker tick (each returns how much work it did).
    audit_sealer: Job | None = None
    audit_checkpointer: Job | None = None
    review_jobs: Any = None
    conversation_jobs: Any = None
    peer_jobs: Job | None = None
    tracer: Any = None
    housekeeping: Job | None = None
    # Policies built once from the settings.
    review_policy: ReviewPolicy | None = None

    # Messages go before sealing: the notifications sealed at one tick are sent at the next, after its batch of
    # commands ran their freezes' `contain` (the account details a message to the owner needs), instead of being
    # claimed at once and put off until a retry.
    PERIODIC = ("review_jobs", "audit_sealer", "audit_checkpointer", "conversation_jobs", "peer_jobs", "tracer",
                "housekeeping")

    def periodic_jobs(self) -> list[Job]:
        """The periodic jobs this application has, in their order."""
        return [job for name in self.PERIODIC if (job := getattr(self, name)) is not None]
