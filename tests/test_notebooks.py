"""The guide as notebooks (docs/notebooks/, made by docs/make_notebooks.py) and as code to paste.

- the committed notebooks are what make_notebooks.py makes from the chapters today (never stale, never
  edited by hand), and their code cells are the chapters' code blocks;
- executed in a real Jupyter kernel (nbclient), on the small data the chapters use and with downloads off,
  each notebook runs without an error, a cell that draws shows one image per figure it draws (and a cell
  that does not, none), and no stream output holds a control character (\\r, \\x1b, \\b) that a saved
  notebook or its HTML export would show as garbage. The Korean notebooks run the same code (test_docs
  checks the code blocks are byte-identical), so they are executed only with SCRATCHGRAD_SLOW=1;
- every chapter's code can be pasted into the plain `python` REPL: no blank line inside a class or
  function body, and a blank line after each compound statement.
"""
import code
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = DOCS / "notebooks"
CHAPTERS = sorted(DOCS.glob("[0-9][0-9]-*.md"))
KOREAN_CHAPTERS = sorted((DOCS / "ko").glob("[0-9][0-9]-*.md"))
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
PLOT_CALL = re.compile(r"\bplot\.(?:plot_\w+|LivePlot)\(")  # each draws one figure (in a loop: into the same one)
CONTROL = re.compile(r"[\r\x1b\b]")
SLOW = os.environ.get("SCRATCHGRAD_SLOW") == "1"

# Run first in the kernel (and left out of the checks): this checkout's scratchgrad, and no downloads, so the
# guide takes its offline path (the 8x8 digits) as in test_docs.
PRELUDE = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'src')!r})
import scratchgrad.datasets._source
from scratchgrad.datasets import DatasetNotFoundError

def _no_download(source, name, folder, looked_in):
    raise DatasetNotFoundError(f"{{name}}: downloads are off in the tests")

scratchgrad.datasets._source.fetch = _no_download
"""


def load_make_notebooks():
    spec = importlib.util.spec_from_file_location("make_notebooks", DOCS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells_of(path):
    nbformat = pytest.importorskip("nbformat")
    return [(cell.cell_type, cell.source) for cell in nbformat.read(path, as_version=4).cells]


# ---- the committed notebooks are generated, and current -----------------------------------------------
def test_notebooks_are_current(tmp_path):
    """Edit a chapter, then run `python docs/make_notebooks.py`: this fails until you do."""
    pytest.importorskip("jupytext")
    pytest.importorskip("nbformat")
    load_make_notebooks().main(["--out", str(tmp_path)])
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.ipynb"))
    committed = sorted(p.relative_to(NOTEBOOKS) for p in NOTEBOOKS.rglob("*.ipynb"))
    assert committed == fresh, "docs/notebooks/ is stale: run python docs/make_notebooks.py"
    assert len(fresh) == len(CHAPTERS) + len(KOREAN_CHAPTERS)
    stale = [str(name) for name in fresh if cells_of(NOTEBOOKS / name) != cells_of(tmp_path / name)]
    assert not stale, f"stale notebooks {stale}: run python docs/make_notebooks.py"


@pytest.mark.parametrize("chapter", CHAPTERS + KOREAN_CHAPTERS, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_a_notebooks_code_cells_are_its_chapters_code_blocks(chapter):
    notebook = NOTEBOOKS / chapter.relative_to(DOCS).with_suffix(".ipynb")
    blocks = [block.rstrip("\n") for block in CODE_BLOCK.findall(chapter.read_text(encoding="utf-8"))]
    assert [source for kind, source in cells_of(notebook) if kind == "code"] == blocks


# ---- executed in a kernel -----------------------------------------------------------------------------
def execute(notebook, folder):
    """The notebook executed by nbclient in a fresh python3 kernel, with `folder` as its working directory."""
    pytest.importorskip("ipykernel")
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PRELUDE))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own (inline) backend
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    return nb.cells[1:]


def image_count(cell):
    return sum(any(kind.startswith("image/") for kind in output.get("data", {})) for output in cell.outputs)


def check_executed(cells, name):
    problems = []
    for number, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        where = f"{name}, cell {number}: {cell.source.splitlines()[0]!r}"
        for output in cell.outputs:
            if output.output_type == "error":
                problems.append(f"{where} raised {output.ename}: {output.evalue}")
            if output.output_type == "stream" and CONTROL.search(output.text):
                problems.append(f"{where} wrote a control character to {output.name}: {output.text[:200]!r}")
        images, figures = image_count(cell), len(PLOT_CALL.findall(cell.source))
        if images != figures:
            problems.append(f"{where} shows {images} image(s) for the {figures} figure(s) it draws")
    assert not problems, "\n".join(problems)


def run_and_check(chapter, folder):
    name = chapter.relative_to(DOCS)
    check_executed(execute(NOTEBOOKS / name.with_suffix(".ipynb"), folder), name.as_posix())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_notebook_runs_clean(chapter, tmp_path):
    run_and_check(chapter, tmp_path)


@pytest.mark.skipif(not SLOW, reason="the English notebooks run the same code: set SCRATCHGRAD_SLOW=1")
@pytest.mark.parametrize("chapter", KOREAN_CHAPTERS, ids=lambda path: "ko-" + path.stem)
def test_korean_notebook_runs_clean(chapter, tmp_path):
    run_and_check(chapter, tmp_path)


# ---- pasted into the plain python REPL ----------------------------------------------------------------
class PastedInto(code.InteractiveConsole):
    """The classic `python` REPL's reading of pasted lines (code.InteractiveConsole follows its rules),
    compiling each statement without running it; the syntax errors the REPL would print are collected."""

    def __init__(self):
        super().__init__()
        self.errors = []

    def runcode(self, compiled):
        pass

    def showsyntaxerror(self, filename=None, **kwargs):
        self.errors.append(sys.exc_info()[1])


def repl_errors(block):
    console, errors = PastedInto(), []
    for number, line in enumerate(block.splitlines() + [""], 1):
        seen = len(console.errors)
        console.push(line)
        if len(console.errors) > seen:
            errors.append(f"line {number} {line.strip()!r}: {console.errors[-1].msg}")
    return errors


def test_the_repl_check_sees_both_mistakes():
    assert repl_errors("class A:\n    x = 1\n\n    def f(self):\n        pass\n")  # blank line in a body
    assert repl_errors("for i in range(2):\n    pass\nprint(i)\n")  # no blank line after the loop
    assert not repl_errors("class A:\n    x = 1\n    def f(self):\n        pass\n\nprint(A)\n")
    assert not repl_errors("if True:\n    a = 1\nelse:\n    a = 2\n\nb = (1,\n\n     2)\n")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_code_pastes_into_the_python_repl(chapter):
    """The Korean chapters have the very same code blocks (test_docs), so checking the English ones checks both."""
    problems = [f"code block {number}, {error}"
                for number, block in enumerate(CODE_BLOCK.findall(chapter.read_text(encoding="utf-8")), 1)
                for error in repl_errors(block)]
    assert not problems, f"{chapter.name} does not paste into the python REPL:\n" + "\n".join(problems)
