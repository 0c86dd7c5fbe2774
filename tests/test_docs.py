"""The guide in docs/ runs: each chapter's python blocks execute in order, and make_figures draws every figure."""
import importlib.util
import re
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from scratchgrad.datasets import DatasetNotFoundError  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHAPTERS = sorted(DOCS.glob("[0-9][0-9]-*.md"))
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
FIGURE_LINK = re.compile(r"!\[[^\]]*\]\(figures/([^)]+)\)")


def load_make_figures():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline_in_a_scratch_folder(monkeypatch, tmp_path):
    """Files the guide writes land in tmp_path, and nothing is downloaded: without a local MNIST the
    guide must take its offline path (the 8x8 digits)."""
    def no_download(source, name, folder, looked_in):
        raise DatasetNotFoundError(f"{name}: downloads are off in the tests")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("scratchgrad.datasets._source.fetch", no_download)
    yield
    plt.close("all")


def test_the_guide_has_its_chapters_and_contents():
    assert len(CHAPTERS) == 15
    contents = (DOCS / "README.md").read_text(encoding="utf-8")
    assert all(f"({chapter.name})" in contents for chapter in CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_code_runs_in_order(chapter):
    blocks = CODE_BLOCK.findall(chapter.read_text(encoding="utf-8"))
    assert blocks, f"{chapter.name} has no python code"
    namespace = {"__name__": chapter.stem}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{chapter.name}, code block {number}", "exec"), namespace)


def test_every_linked_figure_is_drawn_by_make_figures():
    make_figures = load_make_figures()
    linked = {name for chapter in CHAPTERS for name in FIGURE_LINK.findall(chapter.read_text(encoding="utf-8"))}
    optional = {"computational_graph.png"}  # needs Graphviz
    assert linked - optional == set(make_figures.FIGURES)


def test_make_figures_small_writes_every_png(tmp_path):
    make_figures = load_make_figures()
    out = tmp_path / "figures"
    make_figures.main(["--small", "--out", str(out)])
    for name in make_figures.FIGURES:
        data = (out / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 1000, name
    assert not plt.get_fignums()  # each figure is closed once written


def test_make_figures_draws_only_the_figures_named(tmp_path):
    make_figures = load_make_figures()
    out = tmp_path / "figures"
    make_figures.main(["--small", "--out", str(out), "losses.png", "init_relu.png"])
    assert sorted(p.name for p in out.iterdir()) == ["init_relu.png", "losses.png"]
    with pytest.raises(SystemExit):
        make_figures.main(["--small", "--out", str(out), "no_such_figure.png"])


def test_the_guides_figures_say_what_they_show(monkeypatch, tmp_path):
    """The textbook's rows and labels: perceptron panels with axes and a legend for the two outputs,
    chapter 9's three initializations per activation, chapter 5's graph with values and gradients."""
    make_figures = load_make_figures()
    for a in make_figures.perceptron_gates(True).axes:
        assert (a.get_xlabel(), a.get_ylabel()) == ("x₁", "x₂")
        assert [t.get_text() for t in a.get_legend().get_texts()] == ["output 0", "output 1"]
    rows = {name: [a.get_ylabel() for a in make_figures.FIGURES[name](True).axes if a.get_ylabel()]
            for name in ("init_sigmoid.png", "init_relu.png")}
    assert rows == {"init_sigmoid.png": ["1·randn", "0.01·randn", "Xavier"],
                    "init_relu.png": ["0.01·randn", "Xavier", "He"]}
    drawn = []
    monkeypatch.setattr(make_figures.viz, "render", lambda dot, path: drawn.append(dot))
    make_figures.main(["--out", str(tmp_path), "computational_graph.png"])
    (dot,) = drawn
    for label in ("100", "2", "200", "1.1", "220", "2.2", "110"):  # forward values, then gradients
        assert f'label="{label}"' in dot
    assert "float32" not in dot


# ---- the Korean edition (docs/ko/) -------------------------------------------------------------------
KOREAN = DOCS / "ko"
HEADING = re.compile(r"^#+ ", re.M)
KOREAN_FIGURE_LINK = re.compile(r"!\[[^\]]*\]\(\.\./figures/([^)]+)\)")


def test_the_korean_edition_has_every_chapter_and_contents():
    assert sorted(p.name for p in KOREAN.glob("[0-9][0-9]-*.md")) == [p.name for p in CHAPTERS]
    contents = (KOREAN / "README.md").read_text(encoding="utf-8")
    assert all(f"({chapter.name})" in contents for chapter in CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_korean_chapter_has_the_same_code_sections_and_figures(chapter):
    """The Korean chapter runs the very code of the English one (so the English run above executes it
    too): a code block, a section or a figure that drifts apart fails here."""
    english, korean = chapter.read_text(encoding="utf-8"), (KOREAN / chapter.name).read_text(encoding="utf-8")
    assert CODE_BLOCK.findall(korean) == CODE_BLOCK.findall(english)
    assert len(HEADING.findall(korean)) == len(HEADING.findall(english))
    assert KOREAN_FIGURE_LINK.findall(korean) == FIGURE_LINK.findall(english)
    assert all((DOCS / "figures" / name).is_file() for name in KOREAN_FIGURE_LINK.findall(korean))
