"""Which URLs may be fetched: a table of URLs and the refusal each must get. No network is needed:
literal addresses resolve to themselves and ``localhost`` comes from the hosts file."""

from __future__ import annotations

import ipaddress

import pytest

from ingest.urlguard import OFFLINE, HostUnresolvable, blocked_reason, check_peer, check_url
from kb.errors import FetchError

# url, words the refusal must contain (None: accepted)
REFUSED_ALWAYS = [
    ("file:///etc/passwd", "scheme file: is not allowed"),
    ("FILE:///etc/passwd", "scheme file: is not allowed"),
    ("ftp://8.8.8.8/act.pdf", "scheme ftp: is not allowed"),
    ("gopher://8.8.8.8:70/_stats", "scheme gopher: is not allowed"),
    ("data:application/pdf;base64,JVBERi0=", "scheme data: is not allowed"),
    ("javascript:alert(1)", "scheme javascript: is not allowed"),
    ("dict://8.8.8.8:11211/stat", "scheme dict: is not allowed"),
    ("//8.8.8.8/act.pdf", "no scheme is not allowed"),
    ("https://user:secret@8.8.8.8/act.pdf", "credentials in the URL are not allowed"),
    ("https://user@8.8.8.8/act.pdf", "credentials in the URL are not allowed"),
    ("https://8.8.8.8@127.0.0.1/", "credentials in the URL are not allowed"),
    ("http:///act.pdf", "no host name"),
    ("http://8.8.8.8:99999/", "bad port"),
    ("http://8.8.8.8/a b.pdf", "whitespace or control characters"),
    ("http://8.8.8.8/\r\nHost: evil", "whitespace or control characters"),
    ("", "empty URL"),
]

REFUSED_UNLESS_PRIVATE_ALLOWED = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10:8080/x", "loopback"),
    ("http://localhost:8000/", "localhost resolves to"),
    ("http://LOCALHOST/", "loopback"),
    ("http://2130706433/", "resolves to 127.0.0.1, a loopback address"),  # decimal form of 127.0.0.1
    ("http://0x7f.1/", "resolves to 127.0.0.1, a loopback address"),  # hex/short form
    ("http://127.1/", "resolves to 127.0.0.1, a loopback address"),
    ("http://10.1.2.3/", "a private address"),
    ("http://172.16.0.1/", "a private address"),
    ("http://172.31.255.254/", "a private address"),
    ("http://192.168.1.1/", "a private address"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata service"),
    ("http://169.254.1.1/", "a link-local address"),
    ("http://224.0.0.251/", "a multicast address"),
    ("http://0.0.0.0/", "an unspecified address"),
    ("http://240.0.0.1/", "a reserved address"),
    ("http://255.255.255.255/", "a reserved address"),  # limited broadcast
    ("http://192.0.2.10/", "private"),  # TEST-NET-1, documentation only
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::]/", "an unspecified address"),
    ("http://[fc00::1]/", "a private address"),
    ("http://[fd12:3456::1]/", "a private address"),
    ("http://[fe80::1]/", "a link-local address"),
    ("http://[ff02::1]/", "a multicast address"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped/6to4 form of 127.0.0.1, a loopback address"),
    ("http://[::ffff:a00:1]/", "IPv4-mapped/6to4 form of 10.0.0.1, a private address"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata service"),
    ("http://[2002:c0a8:101::1]/", "6to4 form of 192.168.1.1, a private address"),
]

ACCEPTED = [
    "https://8.8.8.8/bitstream/123456789/2079/1/AA2012-32.pdf",
    "http://8.8.8.8/",
    "HTTPS://1.1.1.1:8443/a.pdf?x=1#frag",
    "http://[2001:4860:4860::8888]/",
    "http://[2002:808:808::1]/",  # 6to4 wrapping a public IPv4
    "http://100.128.0.1/",  # just outside 100.64.0.0/10
    "http://172.32.0.1/",  # just outside 172.16.0.0/12
]


@pytest.mark.parametrize(("url", "words"), REFUSED_ALWAYS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_refused_whatever_the_setting(url: str, words: str, allow_private: bool) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=allow_private)
    assert words in str(caught.value)


@pytest.mark.parametrize(("url", "words"), REFUSED_UNLESS_PRIVATE_ALLOWED)
def test_internal_addresses_refused(url: str, words: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=False)
    assert words in str(caught.value)
    assert str(caught.value).startswith("refused ")


@pytest.mark.parametrize(("url", "words"), REFUSED_UNLESS_PRIVATE_ALLOWED)
def test_internal_addresses_allowed_when_configured(url: str, words: str) -> None:
    check_url(url, allow_private=True)  # raises on failure


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_addresses_accepted(url: str) -> None:
    check_url(url, allow_private=False)


def test_password_never_echoed() -> None:
    with pytest.raises(FetchError) as caught:
        check_url("https://admin:hunter2@8.8.8.8:8443/a.pdf", allow_private=False)
    assert "hunter2" not in str(caught.value) and "admin" not in str(caught.value)
    assert "https://8.8.8.8:8443/a.pdf" in str(caught.value)


def test_unresolvable_host_reads_as_offline() -> None:
    # .invalid never resolves (RFC 2606), with or without a network.
    with pytest.raises(HostUnresolvable) as caught:
        check_url("https://sources.invalid/act.pdf", allow_private=False)
    assert str(caught.value).startswith(OFFLINE)
    assert "sources.invalid" in str(caught.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.53", "a loopback address"),
        ("::ffff:8.8.8.8", None),
        ("::ffff:192.168.0.1", "an IPv4-mapped/6to4 form of 192.168.0.1, a private address"),
        ("64:ff9b::a00:1", "a reserved address"),  # NAT64 prefix: refused whatever it wraps
    ],
)
def test_blocked_reason_table(address: str, expected: str | None) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_peer_check_refuses_a_connection_that_landed_inside() -> None:
    """A host that resolved to a public address at check time but was connected on loopback."""
    with pytest.raises(FetchError, match="connected to 127.0.0.1, a loopback address"):
        check_peer("http://rebinding.example/act.pdf", "127.0.0.1", allow_private=False)
    check_peer("http://rebinding.example/act.pdf", "127.0.0.1", allow_private=True)
    check_peer("http://8.8.8.8/act.pdf", "8.8.8.8", allow_private=False)
