"""The client address of a request, for lockouts and the audit (AXES_CLIENT_IP_CALLABLE).

We wrote these few lines rather than use django-ipware's guesses because the
rule is short and must be strict: the configured proxy header is believed
only when the direct peer is one of the configured trusted proxies, and the
address taken from it is the right-most one that is not itself a trusted
proxy (everything left of that was written by the client and can be forged).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:4711
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in settings.ACCOUNTS_TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> str | None:
    """The address that a lockout counts against; REMOTE_ADDR unless a trusted proxy says more."""
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    header = settings.ACCOUNTS_CLIENT_IP_HEADER
    if peer is None:
        return None
    if not header or not _trusted(peer):
        return str(peer)
    hops = [hop for hop in request.META.get(header, "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # A hop we cannot read: stop at the last address we can vouch for.
            return str(peer)
        if not _trusted(address):
            return str(address)
        peer = address
    return str(peer)
