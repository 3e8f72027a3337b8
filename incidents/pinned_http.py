"""POSTing to a URL over a connection to one address given beforehand, never to what its host name resolves to.

A URL whose host was vetted (resolved, its address judged) must be connected to at that very address: a
second lookup to connect could answer something else (DNS rebinding). The host name still goes in the Host
header, the TLS SNI and the certificate check.
"""
from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url


class PinnedAdapter(HTTPAdapter):
    """A requests transport adapter whose connections all go to `address` (an IP literal)."""

    def __init__(self, address: str):
        super().__init__(max_retries=0)
        self.address = address

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The pool of the pinned address; over TLS the URL's host name is the SNI and the name its
        certificate must carry (the ssl module checks it against `server_hostname`)."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host_params["host"]
        return {**host_params, "host": self.address}, pool_kwargs


def post_pinned(session: requests.Session, url: str, address: str, *, body: bytes, headers: dict[str, str],
                timeout: tuple[float, float]) -> requests.Response:
    """POST `body` to `url` over a connection to `address` only, its body read.

    No name is looked up, no proxy is used and no redirect is followed (an adapter sends one request); the
    session gives its headers and its TLS trust (`verify`, `cert`, REQUESTS_CA_BUNDLE)."""
    host = parse_url(url).netloc
    prepared = session.prepare_request(requests.Request("POST", url, data=body, headers={**headers, "Host": host}))
    settings = session.merge_environment_settings(url, {}, None, None, None)
    adapter = PinnedAdapter(address)
    try:
        response = adapter.send(prepared, timeout=timeout, verify=settings["verify"], cert=settings["cert"])
        response.content  # noqa: B018 -- read before the adapter's pool is closed
        return response
    finally:
        adapter.close()
