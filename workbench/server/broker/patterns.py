"""Regular expressions of ``idPattern``, ``typePattern`` and ``q``/``mq`` ``~=``, in linear time.

A query's pattern is matched against every candidate entity, and it is written by whoever
sends the query. Python's :mod:`re` backtracks: ``^urn:ngsi-ld:(?:[A-Za-z]|[A-Za-z])*!``
takes seconds per entity id. Patterns therefore run on RE2 (``google-re2``), whose time is
linear in the text for every pattern. RE2 accepts the PCRE syntax Orion's patterns use
(MongoDB ``$regex``) except backreferences and look-around, which it rejects: such a pattern
is a 400, like any invalid one (docs/adr/0106-linear-time-patterns-with-re2.md).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2
from re2 import _re2

from .errors import bad_request

MAX_PATTERN_LENGTH = 1024
# An RE2 program and its DFA cache stay within max_mem; compiled patterns are cached, so
# the cache size times this bounds the memory patterns can take.
_MAX_MEM = 2 << 20
_CACHED = 64
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False  # the pattern comes from a stranger: no stderr lines
    options.never_capture = True  # only "does it match" is asked
    return options


_OPTIONS = _options()


@lru_cache(maxsize=_CACHED)
def _compiled(pattern: str) -> Any:
    regexp = _re2.RE2(pattern.encode("utf-8"), _OPTIONS)
    if not regexp.ok():
        raise ValueError(regexp.error().decode("utf-8", errors="replace"))
    return regexp


def check_pattern(pattern: str, what: str) -> str:
    """Return ``pattern`` if RE2 compiles it; raise a 400 saying why otherwise.

    Parameters
    ----------
    pattern
        A regular expression from a query.
    what
        Where it came from, for the message (``idPattern``, ``q``...).

    Raises
    ------
    NgsiError
        400 BadRequest when the pattern is longer than :data:`MAX_PATTERN_LENGTH`, is not
        valid, or uses what a linear-time engine cannot run (backreferences, look-around).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise bad_request(f"Invalid regex for {what}: longer than {MAX_PATTERN_LENGTH} "
                          "characters")
    try:
        _compiled(pattern)
    except ValueError as exc:
        raise bad_request(f"Invalid regex for {what}: {pattern[:60]!r} ({str(exc)[:80]}); "
                          "backreferences and look-around are not supported") from None
    return pattern


def pattern_matches(pattern: str, value: Any) -> bool:
    """True when ``value`` is a string in which ``pattern`` (already checked) matches.

    Registered as SQLite's ``regexp(pattern, value)`` function; like :func:`re.search`,
    the pattern may match anywhere unless anchored.
    """
    if not isinstance(value, str):
        return False
    text = value.encode("utf-8", errors="surrogatepass")
    return _compiled(pattern).Match(_UNANCHORED, text, 0, len(text))[0] != _NO_MATCH
