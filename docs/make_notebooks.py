"""Turn every chapter of the guide into a Jupyter notebook: docs/NN-*.md -> docs/notebooks/NN-*.ipynb and the
Korean edition docs/ko/NN-*.md -> docs/notebooks/ko/NN-*.ipynb.

    pip install jupytext nbformat
    python docs/make_notebooks.py            # rewrite docs/notebooks/
    python docs/make_notebooks.py --out DIR  # write them somewhere else

The chapters are the source: each ```python block becomes a code cell, the text between them markdown cells,
and links are rewritten to work from the notebook's folder (a figure, the other chapters' notebooks). The
notebooks are saved without outputs; never edit them by hand (tests/test_notebooks.py fails when one differs
from what this script makes, and executes them).
"""
import argparse
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
NOTEBOOKS = DOCS / "notebooks"
EDITIONS = {"": "en", "ko": "ko"}  # sub-folder of docs/ (and of docs/notebooks/) -> language
NOTE = {
    "en": "*Generated from [{source}]({link}) by `docs/make_notebooks.py`: edit the chapter, not this notebook.*",
    "ko": "*이 노트북은 [{source}]({link})에서 `docs/make_notebooks.py`로 만든 것입니다. 고칠 곳은 이 노트북이 "
          "아니라 원래 장입니다.*",
}
LINK = re.compile(r"(\]\()([^)\s]+)")


def chapters(edition):
    return sorted((DOCS / edition).glob("[0-9][0-9]-*.md"))


def _relink(text, chapter, out_folder):
    """Links relative to the chapter, rewritten relative to the notebook; a chapter becomes its notebook."""
    def move(match):
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):  # a URL, an anchor, an absolute path
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (chapter.parent / path).resolve()
        if resolved.parent == chapter.parent and re.match(r"\d\d-.*\.md$", resolved.name):
            new = resolved.with_suffix(".ipynb").name
        else:
            new = os.path.relpath(resolved, out_folder).replace(os.sep, "/")
        return match.group(1) + new + (f"#{anchor}" if anchor else "")

    return LINK.sub(move, text)


def notebook(chapter, out_folder, language):
    """The notebook of one chapter, as an nbformat NotebookNode (no outputs, stable cell ids)."""
    import jupytext
    import nbformat

    nb = jupytext.reads(chapter.read_text(encoding="utf-8"), fmt="md")
    source = chapter.relative_to(DOCS.parent).as_posix()
    link = os.path.relpath(chapter, out_folder).replace(os.sep, "/")
    cells = [nbformat.v4.new_markdown_cell(NOTE[language].format(source=source, link=link))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source))
        else:
            cells.append(nbformat.v4.new_markdown_cell(_relink(cell.source, chapter, out_folder)))
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"
    result = nbformat.v4.new_notebook(cells=cells)
    result.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=NOTEBOOKS, help="folder to write to (default: docs/notebooks)")
    args = parser.parse_args(argv)
    import nbformat

    written = []
    for edition, language in EDITIONS.items():
        folder = args.out / edition
        folder.mkdir(parents=True, exist_ok=True)
        # links are made relative to docs/notebooks/<edition>, wherever the files are written
        link_folder = NOTEBOOKS / edition
        for chapter in chapters(edition):
            nb = notebook(chapter, link_folder, language)
            path = folder / (chapter.stem + ".ipynb")
            path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
            written.append(path)
    print(f"wrote {len(written)} notebooks to {args.out}", file=sys.stderr)
    return written


if __name__ == "__main__":
    main()
