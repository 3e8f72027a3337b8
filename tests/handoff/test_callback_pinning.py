"""A status callback is connected to the very address its check vetted, over real sockets: the host name is
looked up once, never again to connect (a name can answer a public address to the check and a private one to
the connection), the name still goes in the Host header, the TLS SNI and the certificate check, and a
redirect is not followed."""
from __future__ import annotations

import socket
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from incidents.handoff import delivery, peers
from incidents.handoff.archive import Signer
from incidents.handoff.models import PeerMessage
from incidents.handoff.peers import Peer
from incidents.outbound import HttpWebhookTransport, WebhookUnreachable
from tests.handoff.listeners import listen, self_signed

NAME = "callbacks.alpha.test"  # .test never resolves: a connection that reaches a server did not look it up
PATH = "/api/v1/peer/freeze-requests/req-1/status"


@pytest.fixture
def listeners():
    """Start servers with `listeners(host, ...)`; all stopped afterwards."""
    started = []

    def start(*args, **kwargs):
        started.append(listen(*args, **kwargs))
        return started[-1]
    yield start
    for listener in started:
        listener.stop()


@pytest.fixture
def lookups(monkeypatch):
    """Every name the process looks up from here on (the real resolver still answers)."""
    seen, real = [], socket.getaddrinfo

    def recording(host, *args, **kwargs):
        seen.append(host)
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return seen


def resolver_answering(monkeypatch, *answers: str) -> list[str]:
    """The callback check's resolver gives these addresses, one per lookup (a rebinding DNS server with a zero
    TTL); the names it was asked, in order."""
    asked, queue = [], list(answers)

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return [queue.pop(0) if len(queue) > 1 else queue[0]]
    monkeypatch.setattr(peers, "resolve", resolve)
    return asked


def send_status(app, url: str, peer: Peer) -> PeerMessage:
    """Queue a status update to `url` for `peer`, run one delivery tick with the real HTTP transport, and give
    the message as it ended."""
    with app.extensions["lockdesk"].sessions() as session:
        row = PeerMessage(id=uuid.uuid4(), peer=peer.name, kind="status", url=url, body={"status": "frozen"})
        session.add(row)
        session.commit()
        message_id = row.id
    signer = Signer(key_id="k1", private_key=Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
    delivery.deliver_peer_messages(app.extensions["lockdesk"].sessions, transport=HttpWebhookTransport(),
                                   signer=signer, peers={peer.name: peer})
    with app.extensions["lockdesk"].sessions() as session:
        return session.get(PeerMessage, message_id)


def test_the_callback_goes_to_the_address_vetted_and_the_name_is_never_looked_up_again(app, monkeypatch,
                                                                                       listeners, lookups):
    vetted = listeners("127.0.0.1")
    rebound = listeners("127.0.0.2", vetted.port)  # what a second lookup of the name would answer
    asked = resolver_answering(monkeypatch, "127.0.0.1", "127.0.0.2")
    alpha = Peer(name="Alpha", url=f"http://{NAME}:{vetted.port}", keys={})  # its configured host: loopback allowed
    row = send_status(app, f"http://{NAME}:{vetted.port}{PATH}", alpha)
    assert row.status == "done", row.last_error
    assert asked == [NAME] and NAME not in lookups
    assert rebound.received == []
    [request] = vetted.received
    assert request["path"] == PATH and request["host"] == f"{NAME}:{vetted.port}" and request["signature"]


def test_a_callback_resolving_inside_is_refused_at_sending_and_nothing_is_posted(app, monkeypatch, listeners):
    inside = listeners("127.0.0.1")
    resolver_answering(monkeypatch, "127.0.0.1")
    alpha = Peer(name="Alpha", url="https://api.alpha.example", keys={})
    row = send_status(app, f"http://{NAME}:{inside.port}{PATH}", alpha)
    assert row.status == "failed" and row.last_error.startswith("refused at sending") and "private" in row.last_error
    assert inside.received == []


def test_a_redirect_from_the_callback_is_not_followed(app, monkeypatch, listeners):
    elsewhere = listeners("127.0.0.1")
    redirecting = listeners("127.0.0.1", status=307, location=f"http://127.0.0.1:{elsewhere.port}{PATH}")
    resolver_answering(monkeypatch, "127.0.0.1")
    alpha = Peer(name="Alpha", url=f"http://{NAME}:{redirecting.port}", keys={})
    row = send_status(app, f"http://{NAME}:{redirecting.port}{PATH}", alpha)
    assert len(redirecting.received) == 1 and elsewhere.received == []
    assert row.status == "failed" and row.last_error.startswith("HTTP 307")


def trusting(monkeypatch, certificate) -> None:
    """Trust this certificate alone, as a deployment names its CA bundle."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))


def test_over_tls_the_pinned_connection_sends_and_verifies_the_host_name(listeners, lookups, tmp_path,
                                                                         monkeypatch):
    certificate = self_signed(tmp_path, NAME)  # names the host only: a check against the address would fail
    server = listeners("127.0.0.1", certificate=certificate)
    trusting(monkeypatch, certificate)
    status, answer = HttpWebhookTransport().post_for_answer(
        f"https://{NAME}:{server.port}{PATH}", body=b"{}", headers={}, connect_to="127.0.0.1")
    assert (status, answer) == (200, b'{"reference":"seen"}')
    assert server.server_names == [NAME] and server.received[0]["host"] == f"{NAME}:{server.port}"
    assert NAME not in lookups


def test_over_tls_a_certificate_for_another_name_is_refused(listeners, tmp_path, monkeypatch):
    certificate = self_signed(tmp_path, "other.alpha.test")
    server = listeners("127.0.0.1", certificate=certificate)
    trusting(monkeypatch, certificate)
    with pytest.raises(WebhookUnreachable, match="SSLError"):
        HttpWebhookTransport().post_for_answer(f"https://{NAME}:{server.port}{PATH}", body=b"{}", headers={},
                                               connect_to="127.0.0.1")
    assert server.received == []


def test_an_ipv6_address_vetted_for_a_name_is_connected_to_with_the_name_in_the_host_header(app, monkeypatch,
                                                                                             listeners, lookups):
    server = listeners("::1")
    resolver_answering(monkeypatch, "::1")
    alpha = Peer(name="Alpha", url=f"http://{NAME}:{server.port}", keys={})
    row = send_status(app, f"http://{NAME}:{server.port}{PATH}", alpha)
    assert row.status == "done", row.last_error
    assert server.received[0]["host"] == f"{NAME}:{server.port}" and NAME not in lookups


def test_a_callback_at_an_ipv6_literal_is_sent_there_with_the_bracketed_host(app, listeners):
    server = listeners("::1")
    alpha = Peer(name="Alpha", url=f"http://[::1]:{server.port}", keys={})  # its configured host: loopback allowed
    row = send_status(app, f"http://[::1]:{server.port}{PATH}", alpha)
    assert row.status == "done", row.last_error
    assert server.received[0]["host"] == f"[::1]:{server.port}" and server.received[0]["path"] == PATH
