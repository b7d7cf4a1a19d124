"""Reach providers' brokers, and nothing else: the one guarded way out of the exchange.

Every connection the exchange opens to a provider's broker (``upstream_url``) goes through
this module: the gateway's data-plane calls, the catalog's free preview and the quality
figures. Without it, a self-registered provider could point ``upstream_url`` at the
exchange's own network (``http://169.254.169.254/``, ``http://127.0.0.1:5432/``) and read
it through the gateway (server-side request forgery).

The operator's allow-list (:class:`UpstreamPolicy`) says which hosts may be reached:

- ``orion.city.example``: that host name; ``*.city.example``: any name under it;
- ``203.0.113.7`` or ``10.20.0.0/16``: those addresses (IPv4 or IPv6, CIDR allowed);
- ``*``: any host whose addresses are all public.

A host name is resolved and **every** address it resolves to is checked: loopback,
link-local, private, shared, reserved, multicast and unspecified addresses are refused
unless they lie in a listed address range, whatever the name. The check runs when a product
is created *and* at every connection, and the connection goes to the address that was
checked (no second lookup, so DNS rebinding cannot swap it). Redirects are never followed
and proxy settings from the environment are ignored.

The allow-list comes from ``workbench serve --allow-upstream HOST`` (repeatable) and the
``WORKBENCH_ALLOW_UPSTREAM`` environment variable (comma- or space-separated); it is empty
by default, so no upstream is reachable until the operator lists it
(docs/adr/0101-upstream-allow-list-checked-at-connect-time.md).

Examples
--------
>>> policy = UpstreamPolicy.parse(["127.0.0.1", "*.city.example"])
>>> policy.check_url("http://127.0.0.1:1026")
'http://127.0.0.1:1026'
>>> policy.check_url("http://10.0.0.5:1026")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
UpstreamRefused: upstream host '10.0.0.5' is not on the operator's allow-list ...
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpcore
import httpx

ENV_ALLOW_UPSTREAM = "WORKBENCH_ALLOW_UPSTREAM"
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*")
_HINT = "(workbench serve --allow-upstream, WORKBENCH_ALLOW_UPSTREAM)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UpstreamRefused(Exception):
    """An upstream URL or address the operator's allow-list does not permit."""


class _RefusedConnect(httpcore.ConnectError):
    """Raised inside httpx's transport; httpx maps it to :class:`httpx.ConnectError`."""


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or 6to4 IPv6 address, else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return inner
    return address


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None


@dataclass(frozen=True)
class UpstreamPolicy:
    """The operator's allow-list of upstream brokers (see the module docstring).

    Parameters
    ----------
    names
        Exact host names (lower case).
    suffixes
        Name suffixes from ``*.example.org`` entries (``.example.org``).
    networks
        Address ranges; addresses in them are allowed even when not public.
    any_public
        ``*`` was listed: any host whose addresses are all public.
    """

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()
    any_public: bool = False
    entries: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> UpstreamPolicy:
        """Build a policy from allow-list entries (host names, ``*.suffix``, IPs, CIDRs, ``*``).

        Raises
        ------
        ValueError
            An entry is none of these.
        """
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        any_public = False
        kept: list[str] = []
        for raw in entries:
            for entry in raw.replace(",", " ").split():
                entry = entry.strip().lower().rstrip(".")
                if not entry:
                    continue
                kept.append(entry)
                if entry == "*":
                    any_public = True
                elif entry.startswith("*.") and _HOST_NAME.fullmatch(entry[2:]):
                    suffixes.append(entry[1:])
                elif "/" in entry or _ip(entry.strip("[]")) is not None:
                    try:
                        networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                    except ValueError:
                        raise ValueError(f"{entry!r} is not an address range") from None
                elif _HOST_NAME.fullmatch(entry):
                    names.add(entry)
                else:
                    raise ValueError(
                        f"{entry!r} is not a host name, *.domain, address, CIDR range or '*'"
                    )
        return cls(frozenset(names), tuple(suffixes), tuple(networks), any_public, tuple(kept))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, extra: Iterable[str] = ()
    ) -> UpstreamPolicy:
        """The policy from ``WORKBENCH_ALLOW_UPSTREAM`` plus ``extra`` entries (CLI options)."""
        environ = os.environ if environ is None else environ
        return cls.parse([environ.get(ENV_ALLOW_UPSTREAM, ""), *extra])

    def _listed_address(self, address: IPAddress) -> bool:
        plain = _plain(address)
        return any(a in net for net in self.networks for a in {address, plain})

    def _name_listed(self, host: str) -> bool:
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def check_addresses(self, host: str, addresses: Iterable[str]) -> list[str]:
        """Return ``addresses`` (those ``host`` resolved to) if every one may be reached.

        Raises
        ------
        UpstreamRefused
            The host is not listed, or one of its addresses is not public and not listed.
        """
        host = host.lower().rstrip(".").strip("[]")
        parsed = [(a, _ip(a)) for a in addresses]
        if not parsed or any(ip is None for _, ip in parsed):
            raise UpstreamRefused(f"upstream host {host!r} did not resolve to an address.")
        literal = _ip(host)
        listed = (
            (literal is None and (self.any_public or self._name_listed(host)))
            or (literal is not None and self.any_public and _plain(literal).is_global)
            or all(self._listed_address(ip) for _, ip in parsed)
        )
        if not listed:
            raise UpstreamRefused(
                f"upstream host {host!r} is not on the operator's allow-list {_HINT}."
            )
        for text, ip in parsed:
            if not self._listed_address(ip) and (
                not _plain(ip).is_global or _plain(ip).is_multicast
            ):
                raise UpstreamRefused(
                    f"upstream host {host!r} resolves to {text}, a loopback, private, "
                    f"link-local or reserved address; list that address range to allow it {_HINT}."
                )
        return [text for text, _ in parsed]

    def resolve(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` (blocking) and return its addresses if every one may be reached."""
        host = host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UpstreamRefused(f"upstream host {host!r} cannot be resolved ({exc}).") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return self.check_addresses(host, addresses)

    def check_url(self, url: str) -> str:
        """Return ``url`` (without a trailing slash) if it may be used as an upstream.

        An ``http(s)`` URL without credentials, query or fragment, whose host passes
        :meth:`check_addresses` once resolved.

        Raises
        ------
        UpstreamRefused
            Anything else, with what to change.
        """
        try:
            parsed = httpx.URL(url)
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise UpstreamRefused(f"upstream_url {url[:100]!r} is not a URL.") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise UpstreamRefused("upstream_url must be an http(s) URL with a host.")
        if parsed.userinfo or parsed.query or parsed.fragment:
            raise UpstreamRefused("upstream_url must not carry credentials, a query or a fragment.")
        self.resolve(parsed.host, port)
        return str(parsed).rstrip("/")


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    It resolves the host itself, checks every address, then connects to a checked address
    literal (TLS still verifies the original host name).
    """

    def __init__(
        self, policy: UpstreamPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await anyio.to_thread.run_sync(self.policy.resolve, host, port)
        except UpstreamRefused as exc:
            raise _RefusedConnect(str(exc)) from exc
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise _RefusedConnect("upstream brokers are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def upstream_client(
    base_url: str, policy: UpstreamPolicy, *, timeout_s: float = 60.0
) -> httpx.AsyncClient:
    """Return an httpx client for the broker at ``base_url`` that obeys ``policy``.

    Redirects are not followed, environment proxies are ignored, and every new connection
    is checked by :class:`GuardedNetworkBackend`.
    """
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx does not take a network backend; its pool keeps the one it was built with
    transport._pool._network_backend = GuardedNetworkBackend(policy)
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        transport=transport,
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
    )


def broker_client(
    product: Mapping[str, Any], *, broker_app: Any, policy: UpstreamPolicy, timeout_s: float = 60.0
) -> httpx.AsyncClient:
    """Return a client for ``product``'s broker: the embedded one in-process, else guarded.

    The preview and the quality figures read through this; the gateway's data plane uses
    :func:`upstream_client` for the same guard.
    """
    url = product.get("upstream_url")
    if url:
        return upstream_client(url, policy, timeout_s=timeout_s)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=broker_app), base_url="http://broker"
    )
