"""``workbench lab``: JupyterLab on the notebooks, its kernels already connected to the exchange.

The test starts the real command on a free port against the seeded exchange, then runs code
in a real kernel through Jupyter Server's REST and websocket API, as the browser does: the
planner's first cell, ``wb.connect()`` with no argument, must reach the catalog.
"""

from __future__ import annotations

import json
import uuid

import httpx
from servers import ServerProcess
from websockets.sync.client import connect as ws_connect

from workbench.lab import lab_environment

TOKEN = "test-lab-token"


def _execute(base: str, kernel_id: str, code: str, *, timeout_s: float = 120.0) -> str:
    """Run ``code`` in the kernel and return its stdout (raises on an error reply)."""
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    msg_id = uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }
    out: list[str] = []
    with ws_connect(ws_url, additional_headers={"Authorization": f"token {TOKEN}"},
                    open_timeout=30) as ws:
        ws.send(json.dumps(message))
        while True:
            reply = json.loads(ws.recv(timeout=timeout_s))
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["msg_type"]
            if kind == "stream":
                out.append(reply["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(reply["content"]["traceback"]))
            elif kind == "execute_reply":
                return "".join(out)


def test_environment_takes_the_demo_key_unless_one_is_set(seeded_exchange):
    env = lab_environment(url=None, data_dir=seeded_exchange.data_dir, role="researcher",
                          environ={})
    assert env["WORKBENCH_URL"] == "http://127.0.0.1:8000"
    keys = {a["role"]: a["api_key"] for a in seeded_exchange.credentials["accounts"]}
    assert env["WORKBENCH_API_KEY"] == keys["researcher"]
    mine = lab_environment(url="http://x", data_dir=seeded_exchange.data_dir, role="planner",
                           environ={"WORKBENCH_API_KEY": "my-own"})
    assert mine["WORKBENCH_API_KEY"] == "my-own" and mine["WORKBENCH_URL"] == "http://x"
    assert env["PYTHONSTARTUP"].endswith("_lab_startup.py")
    theirs = lab_environment(url=None, data_dir=seeded_exchange.data_dir, role="planner",
                             environ={"PYTHONSTARTUP": "/home/me/.startup.py"})
    assert theirs["WORKBENCH_USER_PYTHONSTARTUP"] == "/home/me/.startup.py"


def test_lab_serves_the_notebooks_and_its_kernels_connect(seeded_exchange):
    args = ["lab", "--url", seeded_exchange.url, "--data-dir", str(seeded_exchange.data_dir),
            "--token", TOKEN]
    env = {"WORKBENCH_API_KEY": "", "WORKBENCH_URL": "", "WORKBENCH_CLIENT_ID": ""}
    with ServerProcess(args, ready_path="/api/status", env=env) as lab:
        auth = {"Authorization": f"token {TOKEN}"}
        assert httpx.get(lab.url + "/api/contents", timeout=10).status_code == 403
        listing = httpx.get(lab.url + "/api/contents", headers=auth, timeout=10).json()
        names = {item["name"] for item in listing["content"]}
        assert {"workshop", "walkability.ipynb", "policy-effects.ipynb"} <= names
        page = httpx.get(lab.url + "/lab", headers=auth, timeout=30)
        assert page.status_code == 200 and "JupyterLab" in page.text

        kernel = httpx.post(lab.url + "/api/kernels", headers=auth, json={"name": "python3"},
                            timeout=60).json()
        try:
            # before any `import workbench`: the kernel's start-up made folium offline
            printed = _execute(lab.url, kernel["id"], (
                "import folium, geopandas, shapely\n"
                "gdf = geopandas.GeoDataFrame(geometry=[shapely.box(141.3, 43.0, 141.4, 43.1)],"
                " crs=4326)\n"
                "html = gdf.explore().get_root().render()\n"
                "print('cdn.jsdelivr' in html, 'openstreetmap' in html, 'data:text/javascript'"
                " in html)\n"
            ))
            assert printed.split() == ["False", "False", "True"]
            printed = _execute(lab.url, kernel["id"], (
                "import workbench as wb\n"
                "ex = wb.connect()\n"
                "print(len(ex.products()))\n"
            ))
            assert int(printed.strip()) >= 9
        finally:
            httpx.delete(lab.url + f"/api/kernels/{kernel['id']}", headers=auth, timeout=30)
