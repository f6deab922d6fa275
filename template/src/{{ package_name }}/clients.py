"""Who is calling: the client's IP address, validated, as the throttle and the logs use it."""

import ipaddress

from starlette.requests import Request


def client_address(request: Request) -> str | None:
    """The caller's IP address, or None when there is no valid one.

    Behind a proxy that uvicorn trusts (`FORWARDED_ALLOW_IPS`) the address comes from
    `X-Forwarded-For`, which a client may write: anything but an IP address (a forged log line,
    a megabyte of text) is no address. Behind a Unix socket (`uvicorn --uds`) there is none.
    """
    return valid_ip(request.client.host if request.client else None)


def valid_ip(host: str | None) -> str | None:
    """`host` as an IP address in its usual form, or None when it is none."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None  # fe80::1%<any text>: a zone is no part of a client's address
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)  # ::ffff:10.0.0.7 is 10.0.0.7
    return str(address)
