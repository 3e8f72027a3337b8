"""A status callback is checked again when it is sent: a peer's host name that resolved to a public address
when its request came, and resolves into this server's own network later (DNS rebinding), is not called; one
that still resolves outside is sent to the address that check saw, never looked up again to connect (the
connection itself, over sockets: test_callback_pinning.py)."""
from __future__ import annotations

import socket
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from incidents.handoff import delivery, peers
from incidents.handoff.archive import Signer
from incidents.handoff.models import PeerMessage
from incidents.handoff.peers import Peer, callback_address, check_callback
from incidents.handoff.receiving import receive_peer_request
from kernel.errors import InvalidInput

CALLBACK = "http://callbacks.alpha.example/api/v1/peer/freeze-requests/req-1/status"
ALPHA = Peer(name="Alpha", url="https://api.alpha.example", keys={})


class RecordingTransport:
    """Records what would have been posted, and to which address; answers 200."""

    def __init__(self):
        self.posted: list[str] = []
        self.connected_to: list[str | None] = []

    def post_for_answer(self, url: str, *, body: bytes, headers: dict[str, str],
                        connect_to: str | None = None) -> tuple[int, bytes]:
        self.posted.append(url)
        self.connected_to.append(connect_to)
        return 200, b"{}"


def resolving_to(monkeypatch, *addresses: str) -> list[str]:
    """Make every name resolve to these addresses, one per lookup and then the last for good, as a rebinding
    DNS server with a zero TTL would; the names looked up, in order."""
    asked, answers = [], list(addresses)

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]
    monkeypatch.setattr(peers.socket, "getaddrinfo", getaddrinfo)
    return asked


def queue_status(app) -> uuid.UUID:
    """A status update for Alpha, queued as the receiving side queues it."""
    with app.extensions["lockdesk"].sessions() as session:
        row = PeerMessage(id=uuid.uuid4(), peer="Alpha", kind="status", url=CALLBACK, body={"status": "frozen"})
        session.add(row)
        session.commit()
        return row.id


def deliver(app, transport, configured: dict[str, Peer] | None = None) -> None:
    """One delivery tick, Alpha configured unless told otherwise."""
    signer = Signer(key_id="k1", private_key=Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
    delivery.deliver_peer_messages(app.extensions["lockdesk"].sessions, transport=transport, signer=signer,
                                   peers={"Alpha": ALPHA} if configured is None else configured)


def message(app, message_id) -> PeerMessage:
    with app.extensions["lockdesk"].sessions() as session:
        return session.get(PeerMessage, message_id)


def test_a_callback_whose_name_now_resolves_inside_is_refused_at_sending_and_never_called(app, monkeypatch):
    resolving_to(monkeypatch, "93.184.215.14")
    check_callback(CALLBACK, ALPHA)  # what the receiving side checked when the request came: a public address
    message_id = queue_status(app)
    resolving_to(monkeypatch, "127.0.0.1")  # the name was rebound since
    transport = RecordingTransport()
    deliver(app, transport)
    row = message(app, message_id)
    assert transport.posted == []
    assert row.status == "failed" and row.last_error.startswith("refused at sending") and "private" in row.last_error


def test_a_callback_that_still_resolves_outside_is_sent(app, monkeypatch):
    resolving_to(monkeypatch, "93.184.215.14")
    message_id = queue_status(app)
    transport = RecordingTransport()
    deliver(app, transport)
    assert transport.posted == [CALLBACK] and message(app, message_id).status == "done"
    assert transport.connected_to == ["93.184.215.14"]


def test_a_name_that_rebinds_between_the_check_and_the_connection_is_sent_to_the_address_checked(app,
                                                                                               monkeypatch):
    message_id = queue_status(app)
    asked = resolving_to(monkeypatch, "93.184.215.14", "127.0.0.1")  # public to the check, inside afterwards
    transport = RecordingTransport()
    deliver(app, transport)
    assert asked == ["callbacks.alpha.example"]  # one lookup: the connection does not ask again
    assert transport.connected_to == ["93.184.215.14"] and message(app, message_id).status == "done"


@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1",
                                     "fd00::1", "fe80::1", "::ffff:127.0.0.1"])
def test_every_kind_of_inside_address_is_refused(monkeypatch, address):
    resolving_to(monkeypatch, address)
    with pytest.raises(InvalidInput, match="private or local"):
        callback_address(CALLBACK, ALPHA)


def test_a_name_answering_one_inside_address_among_public_ones_is_refused(monkeypatch):
    monkeypatch.setattr(peers, "resolve", lambda host: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(InvalidInput, match="private or local"):
        callback_address(CALLBACK, ALPHA)


def test_a_callback_of_a_peer_no_longer_configured_is_refused_for_good_and_never_called(app, monkeypatch):
    resolving_to(monkeypatch, "93.184.215.14")
    message_id = queue_status(app)
    transport = RecordingTransport()
    deliver(app, transport, configured={})  # Alpha was taken out of PEER_EXCHANGES since its request came
    row = message(app, message_id)
    assert transport.posted == []
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error == "refused at sending: Alpha is no longer a configured peer"


def test_a_request_is_checked_against_its_callback_with_no_transaction_open(session, monkeypatch):
    """The callback's host is looked up (a network call that may hang) after the repeat check's read is over."""
    open_during_lookup = []

    def resolve(host: str) -> list[str]:
        open_during_lookup.append(session.in_transaction())
        return ["10.0.0.7"]
    monkeypatch.setattr(peers, "resolve", resolve)
    body = {"request_id": "req-9", "from_exchange": "Alpha", "chain": "ethereum", "callback_url": CALLBACK}
    with pytest.raises(InvalidInput, match="private or local"):
        receive_peer_request(session, peer=ALPHA, body=body, exchange=None, served_chains={"ethereum"},
                             sla_hours=24)
    assert open_during_lookup == [False]
