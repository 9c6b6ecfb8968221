"""The golden LaTeX tables compile (needs pdflatex with booktabs; skipped where TeX is not installed)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex not installed (apt: texlive-latex-recommended)"
)
@pytest.mark.parametrize("name", ["mvbench", "mmiu", "ablation-tasks", "llava-ov"])
def test_golden_table_compiles(name, tmp_path):
    tex = (GOLDEN / f"{name}.tex").read_text()
    needs = re.search(r"% Needs (.*)", tex)
    packages = re.findall(r"\\usepackage\{(\w+)\}", needs.group(1)) if needs else []
    assert "booktabs" in packages
    doc = (
        "\\documentclass{article}\n"
        + "".join(f"\\usepackage{{{p}}}\n" for p in packages)
        + "\\usepackage[margin=0.3in,landscape]{geometry}\n\\begin{document}\n"
        + tex
        + "\\end{document}\n"
    )
    (tmp_path / "t.tex").write_text(doc)
    r = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000
