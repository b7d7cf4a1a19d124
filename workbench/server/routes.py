"""The data plane's routes: one normalised path per request, and who may call which route.

The gateway authorises the path it forwards, so both must be the same string. A request
path is normalised **once** (:func:`normalise_path`): percent-decoded segment by segment and
its dot segments removed as RFC 3986 §5.2.4 says (``/v2/op/query/../update`` is
``/v2/op/update``). Segments that would change meaning if decoded twice or by another
parser are refused: an encoded ``/`` (``%2F``), any ``\\`` (raw or ``%5C``), an encoded
dot segment (``%2e%2e``), control characters and invalid escapes. The decoded path is
authorised against an explicit allow-list (:data:`READ`, :data:`WRITE`) and forwarded
with its canonical encoding (:attr:`NormalisedPath.raw`)
(docs/adr/0100-normalise-the-path-once-and-authorise-an-allow-list.md).

Examples
--------
>>> normalise_path(b"/v2/op/query/../update").path
'/v2/op/update'
>>> READ.allows("POST", "/v2/op/update"), WRITE.allows("POST", "/v2/op/update")
(False, True)
>>> normalise_path(b"/v2/entities/%2e%2e/x")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
BadPath: encoded dot segment '%2e%2e' in the path; send '..' unencoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

_SAFE = "!$&'()*+,;=:@-._~"  # RFC 3986 pchar minus '%', kept as is when re-encoding
_PLAIN = re.compile(rb"[^A-Za-z0-9/!$&'()*+,;=:@\-._~]")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadPath(ValueError):
    """A request path the gateway refuses to interpret (answered 400)."""


@dataclass(frozen=True)
class NormalisedPath:
    """A request path after :func:`normalise_path`.

    ``path`` is decoded (what routes match and what is authorised); ``raw`` is its
    canonical percent-encoding (what is forwarded).
    """

    path: str
    raw: bytes


def _decode_segment(segment: str) -> str:
    if "\\" in segment:
        raise BadPath("a '\\' in the path is refused; use '/' between segments.")
    if "%" not in segment:
        return segment
    lowered = segment.lower()
    if "%2f" in lowered or "%5c" in lowered:
        raise BadPath(f"encoded '/' or '\\' in the path segment {segment[:60]!r} is refused.")
    if _ESCAPE.search(segment):
        raise BadPath(f"invalid percent-escape in the path segment {segment[:60]!r}.")
    try:
        decoded = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadPath(f"the path segment {segment[:60]!r} is not UTF-8.") from None
    if decoded in (".", ".."):
        raise BadPath(f"encoded dot segment {segment!r} in the path; send '..' unencoded.")
    return decoded


def normalise_path(raw: bytes) -> NormalisedPath:
    """Percent-decode ``raw`` (a request target's path) and remove its dot segments.

    Parameters
    ----------
    raw
        The path as it came on the wire (no query string).

    Returns
    -------
    NormalisedPath
        The decoded path and its canonical encoding; a trailing ``/`` is dropped.

    Raises
    ------
    BadPath
        Encoded ``/``, ``\\`` or dot segments, invalid escapes or UTF-8, control characters,
        or a path not starting with ``/``.
    """
    if not raw.startswith(b"/"):
        raise BadPath("the request path must start with '/'.")
    if _PLAIN.search(raw) is None and b"/." not in raw:  # the common case: nothing to do
        path = raw.decode("ascii")
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        return NormalisedPath(path, path.encode("ascii"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPath("the request path is not ASCII or UTF-8.") from None
    out: list[str] = []
    pieces = text.split("/")[1:]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if piece in (".", ".."):
            if piece == ".." and out:
                out.pop()
            if last:
                out.append("")
            continue
        segment = _decode_segment(piece)
        if _CONTROL.search(segment):
            raise BadPath("control characters in the request path are refused.")
        out.append(segment)
    path = "/" + "/".join(out)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return NormalisedPath(path, quote(path, safe="/" + _SAFE).encode("ascii"))


_SEG = "[^/]+"
_READ_ROUTES = (
    ("GET", "/v2"),
    ("GET", "/v2/entities"),
    ("GET", "/v2/entities/{id}"),
    ("GET", "/v2/entities/{id}/attrs"),
    ("GET", "/v2/entities/{id}/attrs/{attr}"),
    ("GET", "/v2/entities/{id}/attrs/{attr}/value"),
    ("GET", "/v2/types"),
    ("GET", "/v2/types/{type}"),
    ("POST", "/v2/op/query"),
    ("GET", "/ql/v2/entities/{id}"),
    ("GET", "/ql/v2/entities/{id}/attrs/{attr}"),
    ("GET", "/ql/v2/types/{type}"),
    ("GET", "/ql/v2/types/{type}/attrs/{attr}"),
)
_WRITE_ROUTES = (
    ("POST", "/v2/entities"),
    ("DELETE", "/v2/entities/{id}"),
    ("POST", "/v2/entities/{id}/attrs"),
    ("PATCH", "/v2/entities/{id}/attrs"),
    ("PUT", "/v2/entities/{id}/attrs"),
    ("PUT", "/v2/entities/{id}/attrs/{attr}"),
    ("DELETE", "/v2/entities/{id}/attrs/{attr}"),
    ("PUT", "/v2/entities/{id}/attrs/{attr}/value"),
    ("POST", "/v2/op/update"),
    # an upstream Orion's subscriptions and registrations: the provider's configuration
    ("GET", "/v2/subscriptions"),
    ("POST", "/v2/subscriptions"),
    ("GET", "/v2/subscriptions/{id}"),
    ("PATCH", "/v2/subscriptions/{id}"),
    ("DELETE", "/v2/subscriptions/{id}"),
    ("GET", "/v2/registrations"),
    ("POST", "/v2/registrations"),
    ("GET", "/v2/registrations/{id}"),
    ("PATCH", "/v2/registrations/{id}"),
    ("DELETE", "/v2/registrations/{id}"),
)


def _pattern(template: str) -> str:
    return re.sub(r"\{[a-z]+\}", _SEG, template)


class Access:
    """An allow-list of ``(method, path template)``; ``HEAD`` goes wherever ``GET`` does.

    Parameters
    ----------
    name
        ``read`` or ``write`` (shown in refusals).
    routes
        ``(method, template)`` pairs; ``{name}`` in a template is one non-empty segment.
    """

    def __init__(self, name: str, routes: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.routes = routes
        by_method: dict[str, list[str]] = {}
        for method, template in routes:
            by_method.setdefault(method, []).append(_pattern(template))
            if method == "GET":
                by_method.setdefault("HEAD", []).append(_pattern(template))
        self._match = {
            m: re.compile("(?:" + "|".join(p) + ")").fullmatch for m, p in by_method.items()
        }

    def allows(self, method: str, path: str) -> bool:
        """Whether ``method`` on the normalised ``path`` is on this allow-list."""
        match = self._match.get(method)
        return match is not None and match(path) is not None

    def knows_path(self, path: str) -> bool:
        """Whether any method of this allow-list reaches ``path``."""
        return any(match(path) is not None for match in self._match.values())


READ = Access("read", _READ_ROUTES)
"""What a subscription to a product allows: GET/HEAD on entities, types and history, and
``POST /v2/op/query``."""

WRITE = Access("write", _READ_ROUTES + _WRITE_ROUTES)
"""What a product's provider (and an admin) may do: :data:`READ` plus the NGSI write
routes, and an upstream Orion's subscriptions and registrations."""
