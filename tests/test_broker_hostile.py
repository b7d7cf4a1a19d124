"""One hostile query must not freeze the broker for everybody (issue 11, finding 2).

A pattern such as ``^urn:ngsi-ld:(?:[A-Za-z]|[A-Za-z])*!`` makes a backtracking engine take
exponential time per entity id, and any query can be made expensive. Against a real server
(the bare ``workbench broker``, and the exchange with a self-registered buyer's API key on a
free plan), ten threads keep sending such requests while a probe measures ``/version`` and
an ordinary entity page: both keep a p99 under 100 ms, and every hostile request is answered
(correctly, or with the over-budget 400) within the budget.

The probe first measures the same requests for a few seconds without the attack. On a quiet
machine their p99 is a few milliseconds and the limit is exactly 100 ms; on a shared,
loaded one, the part of that quiet p99 above 10 ms (noise the attack did not cause) is added
to the limit. Before the fix the probe waited for seconds (the event loop was frozen).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from exchange_fixtures import ExchangeServer, build_exchange, new_buyer
from servers import ServerProcess

from workbench.server.exchange.service import ExchangeService

BUDGET_S = 0.5
# the client's clock also counts the network, both event loops and both GILs, on a 2-core
# machine shared with other test runs
SLACK_S = 0.5
P99_LIMIT_S = 0.100
ATTACKERS = 10
SIEGE_S = 6.0
QUIET_S = SIEGE_S  # as many quiet samples as under attack: the same chance of outliers
QUIET_NOISE_S = 0.010  # a quiet machine's p99, not added to the limit
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# exponential for a backtracking engine: two ways to match each letter, then no "!"
CATASTROPHIC = "(?:[A-Za-z]|[A-Za-z])*!"
RUN = LETTERS[:22]  # 2**22 paths per id for Python's re: ~0.5 s each


def _probes(n: int) -> list[dict]:
    """``n`` entities; every 2000th has a long run of letters in its id, type and name."""
    out = []
    for i in range(n):
        long = i % 2000 == 0
        out.append({
            "id": f"urn:ngsi-ld:Probe{RUN}{i}" if long else f"urn:ngsi-ld:Probe:{i:05d}",
            "type": f"Probe{RUN}" if long else "Probe",
            "name": {"type": "Text", "value": f"Odori{RUN}" if long else f"probe {i}"},
            "note": {"type": "Text", "value": "lorem ipsum dolor sit amet " * 6 + str(i)},
        })
    return out


def _hostile() -> list[tuple[str, str, dict, str]]:
    """``(method, path, params or body, kind)``: ``fast`` ones take a linear-time engine
    milliseconds (but queue for the pattern lane behind each other); ``budget`` ones are
    expensive for any engine and must be stopped."""
    costly_q = ";".join(f"note~={w}" for w in ("lorem", "ipsum", "dolor", "sit", "amet") * 12)
    return [
        ("GET", "/v2/entities", {"idPattern": f"^urn:ngsi-ld:{CATASTROPHIC}"}, "fast"),
        ("GET", "/v2/entities", {"typePattern": f"^{CATASTROPHIC}"}, "fast"),
        ("GET", "/v2/entities", {"q": f"name~=^{CATASTROPHIC}"}, "fast"),
        ("POST", "/v2/op/query",
         {"entities": [{"idPattern": f"^urn:ngsi-ld:{CATASTROPHIC}"}]}, "fast"),
        ("GET", "/v2/entities", {"q": costly_q, "options": "count"}, "budget"),
    ]


@dataclass
class Siege:
    """What the probe and the attackers saw."""

    version_s: list[float] = field(default_factory=list)
    page_s: list[float] = field(default_factory=list)
    quiet_s: list[float] = field(default_factory=list)  # both, before the attack
    hostile: list[tuple[str, float, int, str]] = field(default_factory=list)  # kind, s, status


def _siege(url: str, headers: dict[str, str], ordinary: dict[str, str],
           check_page: Callable[[httpx.Response], None]) -> Siege:
    """ATTACKERS threads (another process) send hostile requests while a probe measures."""
    seen = Siege()

    def probe(seconds: float, version_s: list[float], page_s: list[float]) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                r = client.get("/version")
                version_s.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                t0 = time.perf_counter()
                r = client.get("/v2/entities", params=ordinary)
                page_s.append(time.perf_counter() - t0)
                check_page(r)
                time.sleep(0.01)

    probe(QUIET_S, seen.quiet_s, seen.quiet_s)
    attackers = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("hostile_load.py")), url,
         json.dumps(headers), json.dumps(_hostile()), str(SIEGE_S + 1.5), str(ATTACKERS)],
        stdout=subprocess.PIPE)
    try:
        time.sleep(1.0)  # let the attack get going
        probe(SIEGE_S, seen.version_s, seen.page_s)
        out, _ = attackers.communicate(timeout=120)
    finally:
        if attackers.poll() is None:
            attackers.kill()
            attackers.wait(10)
    seen.hostile = [tuple(h) for h in json.loads(out)]
    return seen


def _p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98]


def _assert_nobody_waits(seen: Siege) -> None:
    ms = {name: (round(statistics.median(xs) * 1000, 1), round(_p99(xs) * 1000, 1))
          for name, xs in (("/version", seen.version_s), ("entity page", seen.page_s))}
    noise_s = max(0.0, _p99(seen.quiet_s) - QUIET_NOISE_S)
    limit_ms = round((P99_LIMIT_S + noise_s) * 1000, 1)
    kinds = [(k, round(e, 2), s) for k, e, s, _ in seen.hostile]
    print("median, p99 (ms):", ms, "limit:", limit_ms, "hostile:", len(kinds), kinds[:20])
    assert len(seen.version_s) >= 30, f"only {len(seen.version_s)} probes in {SIEGE_S} s: {ms}"
    ms = {name: p99 for name, (_, p99) in ms.items()}
    assert max(ms.values()) < limit_ms, f"p99 under attack (ms): {ms}, limit {limit_ms} ms"
    fast = [h for h in seen.hostile if h[0] == "fast"]
    costly = [h for h in seen.hostile if h[0] == "budget"]
    assert len(fast) >= 20 and len(costly) >= 5, (len(fast), len(costly))
    stopped = '{"error":"BadRequest","description":"The query did not finish within the ' \
        "broker's time budget of 0.5 s"
    for _, elapsed, status, text in fast:  # answered, and correctly, or stopped in time
        assert (status, text) == (200, "[]") or (status == 400 and text.startswith(stopped)), (
            status, text[:200])
        assert elapsed < BUDGET_S + SLACK_S + noise_s, f"a pattern query took {elapsed:.2f} s"
    for _, elapsed, status, text in costly:
        assert status == 400 and text.startswith(stopped), (status, text[:200])
        assert elapsed < BUDGET_S + SLACK_S + noise_s, f"a costly query took {elapsed:.2f} s"


def _no_traceback(log: str) -> None:
    assert "Traceback" not in log and "ERROR" not in log, log[-2000:]


def test_bare_broker_keeps_answering_while_ten_hostile_queries_run(tmp_path):
    db = tmp_path / "broker.db"
    h = {"Fiware-Service": "hostile"}
    env = {"WORKBENCH_QUERY_BUDGET_S": str(BUDGET_S)}
    with ServerProcess(["broker", "--db", str(db)], env=env) as s:
        with httpx.Client(base_url=s.url, headers=h, timeout=60) as c:
            probes = _probes(20000)
            for i in range(0, len(probes), 1000):
                r = c.post("/v2/op/update",
                           json={"actionType": "append", "entities": probes[i:i + 1000]})
                assert r.status_code == 204, r.text

        def check_page(r: httpx.Response) -> None:
            assert r.status_code == 200 and len(r.json()) == 20, r.text[:200]
            assert r.json()[0]["id"] == "urn:ngsi-ld:Probe:00001"

        seen = _siege(s.url, h, {"type": "Probe", "limit": "20"}, check_page)
        _assert_nobody_waits(seen)
    _no_traceback(s.log_path.read_text())


@pytest.fixture(scope="module")
def hostile_exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-dos")
    build_exchange(data_dir)
    svc = ExchangeService.open(data_dir)
    probes = _probes(20000)
    for i in range(0, len(probes), 1000):
        svc.broker.batch_update("wards", "/", "append", probes[i:i + 1000])
    svc.close()
    env = {"WORKBENCH_QUERY_BUDGET_S": str(BUDGET_S)}
    with ExchangeServer(data_dir, env=env) as server:
        yield server


def test_exchange_keeps_answering_while_a_buyer_sends_ten_hostile_queries(hostile_exchange):
    buyer = new_buyer(hostile_exchange.url, "mallory@example.org")
    buyer.subscribe("wards", "free")
    key = buyer.api_key()
    buyer.close()
    h = {"X-API-Key": key, "Fiware-Service": "wards"}

    def check_page(r: httpx.Response) -> None:
        assert r.status_code == 200, r.text[:200]
        assert [e["id"] for e in r.json()][:2] == [
            "urn:ngsi-ld:AdministrativeArea:01", "urn:ngsi-ld:AdministrativeArea:02"]

    seen = _siege(hostile_exchange.url, h, {"type": "AdministrativeArea", "limit": "10"},
                  check_page)
    _assert_nobody_waits(seen)
    _no_traceback(hostile_exchange.log_path.read_text())
