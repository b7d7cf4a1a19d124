"""Query patterns run in linear time; what RE2 cannot run is a 400 that says so."""

from __future__ import annotations

import time

import pytest

from workbench.server.broker import Broker, NgsiError, open_store
from workbench.server.broker.patterns import check_pattern, pattern_matches

RUN = "abcdefghijklmnopqrstuvwxyz"  # 2**26 ways for a backtracking engine to fail


@pytest.fixture()
def broker(tmp_path):
    store = open_store(tmp_path / "broker.db")
    b = Broker(store)
    b.batch_update("t", "/", "append", [
        {"id": f"urn:ngsi-ld:Probe{RUN}", "type": f"Probe{RUN}",
         "name": {"value": f"Odori{RUN}"}},
        {"id": "urn:ngsi-ld:Probe:1", "type": "Probe", "name": {"value": "Susukino"}},
    ])
    yield b
    store.close()


@pytest.mark.parametrize("params", [
    {"idPattern": "^urn:ngsi-ld:(?:[A-Za-z]|[A-Za-z])*!"},
    {"typePattern": "^(?:[A-Za-z]|[A-Za-z])*!"},
    {"q": "name~=^(?:[A-Za-z]|[A-Za-z])*!"},
])
def test_catastrophic_backtracking_pattern_answers_at_once(broker, params):
    t0 = time.perf_counter()
    found, _ = broker.query_entities("t", None, params)
    assert found == []
    assert time.perf_counter() - t0 < 0.5  # Python's re: minutes


def test_patterns_keep_their_meaning(broker):
    ids = [e["id"] for e in broker.query_entities("t", None, {"idPattern": r"Probe:\d$"})[0]]
    assert ids == ["urn:ngsi-ld:Probe:1"]
    found = broker.batch_query("t", None, {"entities": [{"idPattern": "^urn", "typePattern":
                                                         "^Probe$"}]}, {})[0]
    assert [e["id"] for e in found] == ["urn:ngsi-ld:Probe:1"]
    assert pattern_matches("^S.*o$", "Susukino") and not pattern_matches("^S", "Odori")
    assert pattern_matches("札幌", "札幌駅") and not pattern_matches("a", 5)


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)b", "(?<!a)b", "a++", "(", "x" * 2000])
def test_pattern_a_linear_engine_cannot_run_is_400(broker, pattern):
    for params in ({"idPattern": pattern}, {"typePattern": pattern}, {"q": f"name~={pattern}"}):
        with pytest.raises(NgsiError) as exc:
            broker.query_entities("t", None, params)
        assert exc.value.status == 400 and exc.value.error == "BadRequest"
        assert "regex" in exc.value.description


def test_check_pattern_says_what_is_unsupported():
    with pytest.raises(NgsiError, match="backreferences and look-around"):
        check_pattern("(?=x)", "idPattern")
    assert check_pattern("^Room[12]$", "idPattern") == "^Room[12]$"
