"""Send hostile requests from ATTACKERS threads for a while; print what came back as JSON.

Run as a separate process by ``test_broker_hostile.py`` so that the attackers' own work
does not slow down the probe that measures the server::

    python tests/hostile_load.py URL HEADERS_JSON REQUESTS_JSON SECONDS ATTACKERS
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def attack(url: str, headers: dict[str, str], requests: list[list], seconds: float,
           attackers: int) -> list[tuple[str, float, int, str]]:
    """``[(kind, seconds, status, body)]`` of every hostile request sent."""
    seen: list[tuple[str, float, int, str]] = []
    stop = time.monotonic() + seconds

    def one(k: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            i = k
            while time.monotonic() < stop:
                method, path, args, kind = requests[i % len(requests)]
                i += 1
                t0 = time.perf_counter()
                try:
                    if method == "GET":
                        r = client.get(path, params=args)
                    else:
                        r = client.post(path, json=args)
                except httpx.TimeoutException:
                    seen.append((kind, time.perf_counter() - t0, 0, "timeout"))
                    continue
                seen.append((kind, time.perf_counter() - t0, r.status_code, r.text))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(attackers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


if __name__ == "__main__":
    url, headers, requests, seconds, attackers = sys.argv[1:6]
    print(json.dumps(attack(url, json.loads(headers), json.loads(requests), float(seconds),
                            int(attackers))))
