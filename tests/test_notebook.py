"""The example notebook runs top to bottom in a real kernel, and is kept in the repository without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "welfare-section.ipynb"


def test_the_notebook_is_kept_without_outputs() -> None:
    document = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in document["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom() -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    # Runs beside the notebook, as a person opening it would; it works on a scratch copy of ../history.
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]

    def shown(index: int, kind: str = "text/plain") -> str:
        return "".join(o.get("text", "") if o["output_type"] == "stream" else o.get("data", {}).get(kind, "")
                       for o in outputs[index])

    assert not [o for cell in outputs for o in cell if o["output_type"] == "error"]
    assert shown(0).startswith("<WelfareHistory ")
    assert shown(1) == "{'observations': 4}"
    assert shown(2).startswith("frame 1, row 1 (index 'b'): score: 9 is outside the scale 1-7")
    findings_html = shown(3, "text/html")
    assert "Summary of findings" in findings_html and "Open flags" in findings_html and "<script" not in findings_html
    assert "aster-9-preview" in shown(4) and "verdict" in shown(5)
    assert shown(7) == "['findings.json', 'welfare-section.fragment.html', 'welfare-section.html']"
    # The bundled history was copied, not changed.
    assert "notebook-1" not in (ROOT / "history" / "observations" / "aster-9-preview.csv").read_text()
