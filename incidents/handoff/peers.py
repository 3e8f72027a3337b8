"""The peer exchanges this instance trusts (PEER_EXCHANGES), their keys, and which callback URLs may be called."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kernel.errors import InvalidInput
from incidents.handoff.archive import load_public_key
from incidents.handoff.httpsig import PeerKey


@dataclass(frozen=True)
class Peer:
    """A peer: its base URL and the keys it signs with (two while it rotates)."""

    name: str
    url: str
    keys: dict[str, PeerKey]

    def endpoint(self, path: str) -> str:
        """An absolute URL at the peer."""
        return self.url.rstrip("/") + path


def load_peers(value: dict[str, Any] | None) -> dict[str, Peer]:
    """PEER_EXCHANGES: {"name": {"url", "key_id", "public_key", "keys": [{"key_id", "public_key"}]}}."""
    peers = {}
    for name, entry in (value or {}).items():
        given = [{"key_id": entry["key_id"], "public_key": entry["public_key"]}] if entry.get("key_id") else []
        given += list(entry.get("keys") or [])
        if not entry.get("url") or not given:
            raise ValueError(f"PEER_EXCHANGES[{name!r}] needs a url and a key_id with its public_key")
        try:
            keys = {key["key_id"]: PeerKey(peer=name, key=load_public_key(key["public_key"])) for key in given}
        except (ValueError, KeyError) as error:
            raise ValueError(f"PEER_EXCHANGES[{name!r}]: a public key is not base64 of 32 bytes") from error
        peers[name] = Peer(name=name, url=entry["url"], keys=keys)
    return peers


def peer_keys(peers: dict[str, Peer]) -> dict[str, PeerKey]:
    """Every configured key id, with its peer."""
    return {key_id: key for peer in peers.values() for key_id, key in peer.keys.items()}


def check_callback(url: str, peer: Peer) -> None:
    """A callback must be http(s), and may point into a private network only at the peer's own configured host.

    Otherwise a signed request could make this server call inside its own network.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url", "must be an http or https URL")
    configured = urlsplit(peer.url)
    if (parts.scheme, parts.hostname, parts.port) == (configured.scheme, configured.hostname, configured.port):
        return
    if any(_is_private(address) for address in _addresses(parts.hostname)):
        raise InvalidInput("callback_url", "points to a private or local address; only the peer's configured "
                                           "URL may")


def _addresses(host: str) -> list[str]:
    """The addresses a host name stands for (an IP literal stands for itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:  # not an IP literal: a name to resolve
        return _resolved(host)


def _resolved(host: str) -> list[str]:
    """The addresses a host name resolves to; 422 naming callback_url when it does not resolve."""
    try:
        return [info[4][0] for info in socket.getaddrinfo(host, None)]
    except OSError as error:
        raise InvalidInput("callback_url", f"its host {host} does not resolve") from error


def _is_private(address: str) -> bool:
    """Loopback, private, link-local, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified \
        or ip.is_multicast
