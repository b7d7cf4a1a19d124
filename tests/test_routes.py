"""Path normalisation and the data plane's allow-lists (workbench.server.routes)."""

from __future__ import annotations

import pytest

from workbench.server.routes import READ, WRITE, BadPath, normalise_path


@pytest.mark.parametrize(
    ("raw", "path", "forwarded"),
    [
        (b"/v2/entities", "/v2/entities", b"/v2/entities"),
        (b"/v2/entities/", "/v2/entities", b"/v2/entities"),
        (b"/v2/op/query/../update", "/v2/op/update", b"/v2/op/update"),
        (b"/v2/op/query/../../entities", "/v2/entities", b"/v2/entities"),
        (b"/v2/./entities/a/..", "/v2/entities", b"/v2/entities"),
        (b"/v2/../../../etc", "/etc", b"/etc"),
        (
            b"/v2/entities/urn%3Angsi-ld%3AX%3A1",
            "/v2/entities/urn:ngsi-ld:X:1",
            b"/v2/entities/urn:ngsi-ld:X:1",
        ),
        (b"/v2/entities/a%20b", "/v2/entities/a b", b"/v2/entities/a%20b"),
        (b"/v2/entities/%25", "/v2/entities/%", b"/v2/entities/%25"),
        (b"/v2/entities/%E6%9C%AD", "/v2/entities/\u672d", b"/v2/entities/%E6%9C%AD"),
        (b"/v2/entities/...", "/v2/entities/...", b"/v2/entities/..."),
    ],
)
def test_paths_are_decoded_once_and_dot_segments_removed(raw, path, forwarded):
    normalised = normalise_path(raw)
    assert (normalised.path, normalised.raw) == (path, forwarded)
    assert normalise_path(normalised.raw) == normalised  # forwarding it changes nothing


@pytest.mark.parametrize(
    "raw",
    [
        b"/v2/%2e%2e/update",
        b"/v2/%2E/entities",
        b"/v2/.%2e/update",
        b"/v2/op%2fupdate",
        b"/v2/op%2Fupdate",
        b"/v2/op%5cupdate",
        b"/v2/op\\update",
        b"/v2/entities/%",
        b"/v2/entities/%g0",
        b"/v2/entities/%ff",
        b"/v2/entities/%0a",
        b"/v2/entities/%7f",
        b"v2/entities",
        b"/v2/entities/\xff",
    ],
)
def test_ambiguous_paths_are_refused(raw):
    with pytest.raises(BadPath):
        normalise_path(raw)


def test_read_is_get_head_and_op_query_only():
    for path in ("/v2/entities", "/v2/entities/E/attrs/a/value", "/ql/v2/types/T/attrs/a"):
        assert READ.allows("GET", path) and READ.allows("HEAD", path)
        assert not READ.allows("OPTIONS", path)
    assert READ.allows("POST", "/v2/op/query")
    for method, path in [
        ("POST", "/v2/op/update"),
        ("POST", "/v2/entities"),
        ("PATCH", "/v2/entities/E/attrs"),
        ("DELETE", "/v2/entities/E"),
        ("PUT", "/v2/entities/E/attrs/a/value"),
        ("GET", "/v2/subscriptions"),
        ("POST", "/v2/op/query/x"),
        ("GET", "/v2/entities//attrs"),
        ("GET", "/version"),
        ("GET", "/api/products"),
    ]:
        assert not READ.allows(method, path), (method, path)


def test_write_adds_the_ngsi_write_routes_only():
    assert WRITE.allows("POST", "/v2/op/update")
    assert WRITE.allows("PATCH", "/v2/entities/E/attrs")
    assert WRITE.allows("DELETE", "/v2/subscriptions/S1")
    assert not WRITE.allows("POST", "/v2/types")
    assert not WRITE.allows("GET", "/api/products")
    assert not WRITE.allows("TRACE", "/v2/entities")
