"""Progress bars as a saved notebook shows them: run in a real kernel by nbclient (as
papermill does), the output file keeps a readable summary line, not a widget's ``0%|``."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from workbench.client._progress import DisplayBar, progress_bar

CELL = """
import time
from workbench.client._progress import progress_bar
with progress_bar(total=3000, enabled=True, unit="entities") as bar:
    for _ in range(3):
        time.sleep(0.25)
        bar.update(1000)
"""


def test_a_kernel_saves_the_finished_bar_as_text(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(nb, kernel_name="python3", timeout=120, resources=resources).execute()
    outputs = nb.cells[0].outputs
    texts = [o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in outputs]
    assert len(outputs) == 1, texts  # one display, updated in place
    assert texts[0].startswith("3,000/3,000 entities in ") and texts[0].endswith(" s")
    assert "0%|" not in "".join(texts)
    assert "<progress" not in outputs[0]["data"]["text/html"]  # finished: no bar left


def test_outside_a_kernel_the_bar_is_text_tqdm_or_disabled():
    with progress_bar(total=10, enabled=True, unit="entities") as bar:
        bar.update(10)
    assert not isinstance(bar, DisplayBar)
    with progress_bar(total=10, enabled=False, unit="entities") as bar:
        assert bar.disable
