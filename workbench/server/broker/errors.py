"""NGSI v2 errors as Orion gives them: an HTTP status plus ``{"error", "description"}``."""

from __future__ import annotations


class NgsiError(Exception):
    """An NGSI v2 error: ``status`` (HTTP), ``error`` (Orion's name) and a ``description``.

    Raised by :class:`~workbench.server.broker.Broker`; the HTTP layer renders it as
    ``{"error": error, "description": description}`` with ``status``.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def to_json(self) -> dict[str, str]:
        """Return the Orion-shaped error body."""
        return {"error": self.error, "description": self.description}


def bad_request(description: str) -> NgsiError:
    """400 BadRequest."""
    return NgsiError(400, "BadRequest", description)


def parse_error(description: str = "Errors found in incoming JSON buffer") -> NgsiError:
    """400 ParseError (malformed or structurally wrong JSON)."""
    return NgsiError(400, "ParseError", description)


def over_budget(budget_s: float) -> NgsiError:
    """400 BadRequest: a query ran out of its time budget (ADR 0107)."""
    return NgsiError(
        400, "BadRequest",
        f"The query did not finish within the broker's time budget of {budget_s:g} s and was "
        "stopped. Narrow it (a type, ids, a geo-filter, a simpler pattern or q) or page "
        "with a smaller limit.")


def not_found(description: str) -> NgsiError:
    """404 NotFound."""
    return NgsiError(404, "NotFound", description)


ENTITY_NOT_FOUND = "The requested entity has not been found. Check type and id"
ATTR_NOT_FOUND = "The entity does not have such an attribute"
TOO_MANY = "More than one matching entity. Please refine your query"


def entity_not_found() -> NgsiError:
    """404 for a missing entity, with Orion's wording."""
    return not_found(ENTITY_NOT_FOUND)


def attr_not_found() -> NgsiError:
    """404 for a missing attribute, with Orion's wording."""
    return not_found(ATTR_NOT_FOUND)


def too_many_results() -> NgsiError:
    """409 TooManyResults: an id without type matched entities of several types."""
    return NgsiError(409, "TooManyResults", TOO_MANY)


def unprocessable(description: str, *, partial: bool = False) -> NgsiError:
    """422 Unprocessable, or PartialUpdate when part of the request was applied."""
    return NgsiError(422, "PartialUpdate" if partial else "Unprocessable", description)
