"""The real book, built with `jupyter-book build` from records of a real smoke sweep."""
import os
import re
import subprocess

import pytest

from conftest import BIN, ROOT
from hetnoise import studies

pytestmark = pytest.mark.slow  # every test here builds the book


def images(html: str):
    return re.findall(r'<img[^>]+src="([^"]+)"', html)


def test_multiclass_page_has_its_figure(built_book):
    html_dir, _ = built_book
    page = (html_dir / "multiclass.html").read_text()
    assert "No multi-class records yet" not in page
    figs = [src for src in images(page) if src.startswith("_images/")]
    assert figs, "no figure on the multi-class page"
    for src in figs:
        assert (html_dir / src).stat().st_size > 5000
    assert ">smoke<" in page  # the table says which profile the runs came from
    text = re.sub(r"<[^>]+>", " ", page)
    assert "Traceback" not in text and not re.search(r"\b[A-Z]\w*(Error|Exception)\b", text)


def test_every_page_of_the_toc_is_built(built_book):
    import yaml

    html_dir, _ = built_book
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    pages = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    for page in pages:
        assert (html_dir / f"{page}.html").is_file(), f"{page}.html missing"


def test_book_without_records_says_how_to_make_them(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "HETNOISE_RESULTS": str(tmp_path / "none"), "HETNOISE_PUBLISHED": str(tmp_path / "none")}
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", "book", "--path-output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name in studies.ALL:
        command = f"hetnoise sweep {name}"
        text = re.sub(r"<[^>]+>", "", (out / "_build" / "html" / f"{name}.html").read_text())
        assert "records yet" in text and command in text, name
