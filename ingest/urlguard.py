"""Which addresses the product may download from (server-side request forgery rules).

A URL taken from the sources manifest, or from a redirect a remote server sends back, must not
make this machine read its own files or talk to services that are only reachable from inside
(a database on localhost, a router's admin page, the cloud metadata service at 169.254.169.254).
So before every request, and again for every redirect hop:

* only ``http`` and ``https`` are accepted (no ``file:``, ``ftp:``, ``gopher:``, ``data:``,
  ``javascript:`` ...);
* a URL carrying credentials (``https://user:pass@host/``) is refused: they would be sent along
  and stored in the fetch state;
* the host is resolved and *every* address it resolves to must be public: loopback, private,
  carrier-grade NAT, link-local, multicast, unspecified, reserved and the IPv6 equivalents
  (``::1``, ``fc00::/7``, ``fe80::/10``, IPv4-mapped ``::ffff:10.0.0.1``, 6to4 ``2002::/16``
  wrapping a private IPv4) are refused unless ``fetch.allow_private_addresses`` is set.

Resolving here and connecting later leaves a window for a host whose DNS answer changes in
between; :func:`check_peer` closes most of it by checking the address actually connected to.

    >>> check_url("https://www.indiacode.nic.in/x.pdf", allow_private=False)  # doctest: +SKIP
    >>> check_url("http://127.0.0.1:8000/", allow_private=False)
    Traceback (most recent call last):
    ...
    kb.errors.FetchError: refused http://127.0.0.1:8000/: 127.0.0.1 is a loopback address
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from kb.errors import FetchError

ALLOWED_SCHEMES = ("http", "https")
OFFLINE = "network unreachable (offline?)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6598 shared address space: not "private" to the ipaddress module, yet never on the internet.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = ipaddress.ip_address("169.254.169.254")


class HostUnresolvable(FetchError):
    """The host name did not resolve: usually no network or no DNS here, so it reads as offline."""

    code = "host_unresolvable"


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise :class:`FetchError` unless ``url`` may be fetched (see the module doc)."""
    parts = _split(url)
    port = _port(parts, url)
    if not allow_private:
        for address in resolve(parts.hostname or "", port, url=url):
            reason = blocked_reason(address)
            if reason:
                raise FetchError(f"refused {url}: {parts.hostname} {_resolves_to(parts.hostname, address)}{reason}",
                                 url=url, address=str(address))


def check_peer(url: str, peer_ip: str, *, allow_private: bool) -> None:
    """Raise :class:`FetchError` when the connection for ``url`` went to a refused address."""
    if allow_private:
        return
    address = ipaddress.ip_address(peer_ip.split("%", 1)[0])
    reason = blocked_reason(address)
    if reason:
        raise FetchError(f"refused {url}: connected to {address}, {reason}", url=url, address=str(address))


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address ("a loopback address"...), or None if it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = blocked_reason(embedded)
        return f"an IPv4-mapped/6to4 form of {embedded}, {inner}" if inner else None
    if address == _METADATA:
        return "a link-local address (cloud metadata service)"
    for test, label in (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.version == 4 and address in _CGNAT, "a shared (carrier-grade NAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public internet address"),
    ):
        if test:
            return label
    return None


def resolve(host: str, port: int, *, url: str) -> list[IPAddress]:
    """Every address ``host`` resolves to; a literal IP resolves to itself without DNS."""
    literal = _literal_ip(host)
    if literal is not None:
        return [literal]
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as err:
        raise FetchError(f"refused {url}: bad host name {host!r} ({err})", url=url) from err
    try:
        infos = socket.getaddrinfo(ascii_host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise HostUnresolvable(f"{OFFLINE}: cannot resolve host {host!r} ({err.strerror})", url=url) from err
    # getaddrinfo also parses "2130706433" and "0x7f.1" as IPv4, so those end up checked here too.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url.strip():
        raise FetchError(f"refused {url!r}: empty URL", url=url)
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise FetchError(f"refused {url!r}: whitespace or control characters in the URL", url=url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise FetchError(f"refused {url}: scheme {shown} is not allowed (only http and https)", url=url, scheme=scheme)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise FetchError(f"refused {_redacted(parts)}: credentials in the URL are not allowed", url=_redacted(parts))
    if not parts.hostname:
        raise FetchError(f"refused {url}: no host name", url=url)
    return parts


def _port(parts: SplitResult, url: str) -> int:
    try:
        port = parts.port
    except ValueError as err:
        raise FetchError(f"refused {url}: bad port ({err})", url=url) from err
    return port or (443 if parts.scheme.lower() == "https" else 80)


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    return address.ipv4_mapped or address.sixtofour


def _resolves_to(host: str | None, address: IPAddress) -> str:
    return "is " if host and _literal_ip(host) == address else f"resolves to {address}, "


def _redacted(parts: SplitResult) -> str:
    """The URL without its user-info, so a password is never echoed into logs or reports."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if _safe_port(parts) else "")
    return parts._replace(netloc=netloc).geturl()


def _safe_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None
