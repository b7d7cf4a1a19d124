"""The q/mq language (workbench.server.broker.query) and its SQL translation."""

from __future__ import annotations

import pytest

from workbench.server.broker import Broker, NgsiError, open_store
from workbench.server.broker.query import Condition, Literal, parse_order, parse_q


@pytest.fixture
def broker():
    return Broker(open_store(":memory:"))


def ids(broker, **params):
    found, _ = broker.query_entities("t", None, {k: str(v) for k, v in params.items()})
    return [e["id"] for e in found]


def test_parse_q_reads_operators_lists_ranges_and_paths():
    assert parse_q("a==1;b!='x,y';c>2024-01-01;d~=^ab;e==1..5;f.g.h:true;!i;j") == [
        Condition("a", (), None, "eq", (Literal("number", 1),)),
        Condition("b", (), None, "ne", (Literal("string", "x,y"),)),
        Condition("c", (), None, "gt", (Literal("date", "2024-01-01T00:00:00.000Z"),)),
        Condition("d", (), None, "match", pattern="^ab"),
        Condition("e", (), None, "eq", range=(Literal("number", 1), Literal("number", 5))),
        Condition("f", ("g", "h"), None, "eq", (Literal("bool", True),)),
        Condition("i", (), None, "not_exists"),
        Condition("j", (), None, "exists"),
    ]


def test_parse_mq_names_attribute_and_metadata():
    assert parse_q("temp.accuracy<=0.5", metadata=True) == [
        Condition("temp", (), "accuracy", "le", (Literal("number", 0.5),))]


def test_quoted_values_keep_operators_and_separators():
    (c,) = parse_q("name=='a;b==c'")
    assert c.values == (Literal("string", "a;b==c"),)


@pytest.mark.parametrize("q", ["a==", "==1", "a>1,2", "a=='x", "a~=(", "a==1..", "a.==1",
                               "x" * 9000, ";".join(["a"] * 65), "a<b==1'"])
def test_malformed_q_is_400(q):
    with pytest.raises(NgsiError) as err:
        parse_q(q)
    assert err.value.status == 400


def test_order_rejects_forbidden_names():
    assert parse_order("!temp,id") == [("temp", True), ("id", False)]
    with pytest.raises(NgsiError):
        parse_order("a;b")


def test_typed_comparisons_never_mix_numbers_and_text(broker):
    broker.batch_update("t", "/", "append", [
        {"id": "n", "type": "T", "v": {"value": 5}},
        {"id": "s", "type": "T", "v": {"value": "5"}},
        {"id": "z", "type": "T", "v": {"value": "zebra"}},
        {"id": "b", "type": "T", "v": {"value": True}},
        {"id": "o", "type": "T", "v": {"value": {"x": 1}}},
    ])
    assert ids(broker, q="v==5") == ["n"]
    assert ids(broker, q="v=='5'") == ["s"]
    assert ids(broker, q="v>1") == ["n"]
    assert ids(broker, q="v<10") == ["n"]
    assert ids(broker, q="v>a") == ["z"]
    assert ids(broker, q="v<a") == ["s"]
    assert ids(broker, q="v==1") == []
    assert ids(broker, q="v==0..10") == ["n"]
    assert ids(broker, q="v==true") == ["b"]
    assert ids(broker, q="v.x==1") == ["o"]
    assert ids(broker, q="v!=5") == ["s", "z", "b", "o"]


def test_hostile_q_values_are_parameters_not_sql(broker):
    broker.batch_update("t", "/", "append", [{"id": "a", "type": "T", "v": {"value": 1}}])
    for q in ["v=='1 OR 1=1'", "v=='1\"); DROP TABLE entities; --'", "v~=.*;--"]:
        assert ids(broker, q=q) == []
    assert ids(broker) == ["a"]


def test_paging_with_ties_never_skips_or_repeats(broker):
    entities = [{"id": f"e{i:03d}", "type": "T", "group": {"value": i % 3}} for i in range(200)]
    broker.batch_update("t", "/", "append", entities)
    for order in ("group", "!group", "type"):
        seen = []
        for offset in range(0, 200, 7):
            seen += ids(broker, orderBy=order, limit=7, offset=offset)
        assert sorted(seen) == sorted(e["id"] for e in entities), order
        assert len(set(seen)) == 200


def test_q_page_stops_at_limit_with_total_count(broker):
    broker.batch_update("t", "/", "append", [
        {"id": f"e{i:04d}", "type": "T", "v": {"value": i}} for i in range(3000)])
    found, total = broker.query_entities("t", None, {"q": "v>=1000", "limit": "1000",
                                                     "options": "count"})
    assert len(found) == 1000 and total == 2000
    assert found[0]["id"] == "e1000" and found[-1]["id"] == "e1999"
