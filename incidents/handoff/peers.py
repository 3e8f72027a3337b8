"""The peer exchanges this instance trusts (PEER_EXCHANGES), their keys, and which callback URLs may be called."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

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
    parts = _callback_parts(url)
    if not _is_configured(parts, peer):
        _public_addresses(parts.hostname)


def callback_address(url: str, peer: Peer) -> str:
    """The one address a callback may be connected to, vetted by `check_callback`'s rule on a single lookup.

    The sender connects to this address and to nothing else: a name looked up again to connect could answer
    another address than the one vetted (DNS rebinding). At the peer's configured host any address is taken.
    """
    parts = _callback_parts(url)
    if _is_configured(parts, peer):
        return _addresses(parts.hostname)[0]
    return _public_addresses(parts.hostname)[0]


def _callback_parts(url: str) -> SplitResult:
    """The URL's parts; 422 naming callback_url unless it is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url", "must be an http or https URL")
    return parts


def _is_configured(parts: SplitResult, peer: Peer) -> bool:
    """Whether the URL is at the peer's own configured scheme, host and port."""
    configured = urlsplit(peer.url)
    return (parts.scheme, parts.hostname, parts.port) == (configured.scheme, configured.hostname, configured.port)


def _public_addresses(host: str) -> list[str]:
    """The host's addresses, refused (422 naming callback_url) when any of them is private or local."""
    addresses = _addresses(host)
    if any(_is_private(address) for address in addresses):
        raise InvalidInput("callback_url", "points to a private or local address; only the peer's configured "
                                           "URL may")
    return addresses


def _addresses(host: str) -> list[str]:
    """The addresses a host name stands for (an IP literal stands for itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:  # not an IP literal: a name to resolve
        return resolve(host)


def resolve(host: str) -> list[str]:
    """The addresses a host name resolves to, in the resolver's order, each once; 422 naming callback_url when
    it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        raise InvalidInput("callback_url", f"its host {host} does not resolve") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise InvalidInput("callback_url", f"its host {host} does not resolve")
    return addresses


def _is_private(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified \
        or ip.is_multicast
