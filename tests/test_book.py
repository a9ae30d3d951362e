"""The real book, built with `jupyter-book build` from records of a real smoke sweep."""
import base64
import re

import pytest

from conftest import ROOT
from hetnoise import studies

pytestmark = pytest.mark.slow  # every test here builds the book


def images(html: str):
    return re.findall(r'<img[^>]+src="([^"]+)"', html)


def test_multiclass_page_has_its_figure(built_book):
    html_dir, _ = built_book
    page = (html_dir / "multiclass.html").read_text()
    assert "No multi-class records yet" not in page
    figs = re.findall(r'srcset="data:image/png;base64,([^ "]+) 2x"', page)
    assert figs, "no figure on the multi-class page"
    for data in figs:
        assert len(base64.b64decode(data)) > 5000
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


def test_book_without_records_says_how_to_make_them(empty_book):
    html_dir, code, log = empty_book()
    assert code == 0, log[-6000:]  # warnings (a failed cell) are errors
    for name in studies.ALL:
        command = f"hetnoise sweep {name}"
        text = re.sub(r"<[^>]+>", "", (html_dir / f"{name}.html").read_text())
        assert "records yet" in text and command in text, name


# Text a page shows where a number or a word should have been filled in: a constant's name (MARGIN, MIN_RUNS),
# a format field or glue left unfilled ({margin}, {n:.1f}), a to-do mark, or a missing number (nan, None).
PLACEHOLDER = re.compile(
    r"\bMARGIN\b|\b[A-Z]{2,}(?:_[A-Z]+)+\b"
    r"|\{(?:glue:)?[A-Za-z_]\w*(?:[:!][^{}\s]*)?\}"
    r"|\b(?:TODO|FIXME|TBD)\b|\?\?\?"
    r"|(?<![\w-])(?:nan|NaN)(?![\w-])"
    r"|(?:[=≈:]\s*|\b)None\s*(?:points|seeds|runs|%|°|h\b|s\b)|[=≈]\s*None\b")
MISSING = ("None", "nan", "NaN", "null")  # a table cell that holds only one of these lacks its number


def page_prose(html: str) -> tuple[str, list[str]]:
    """A built page's article as text, without code, equations, scripts and executed notebooks, and its table
    cells."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article.bd-article") or soup
    for tag in article.select("script, style, pre, code, .math, .executed-notebook"):
        tag.decompose()
    return article.get_text(" "), [td.get_text(" ").strip() for td in article.select("td")]


def test_no_page_shows_an_unfilled_placeholder(built_book):
    html_dir, _ = built_book
    found = []
    for page in sorted(html_dir.glob("*.html")):
        if page.stem in ("genindex", "search"):
            continue
        text, cells = page_prose(page.read_text())
        found += [f"{page.name}: …{text[max(0, m.start() - 50):m.end() + 30]!r}…" for m in PLACEHOLDER.finditer(text)]
        found += [f"{page.name}: a table cell reads {cell!r}" for cell in cells if cell in MISSING]
    assert not found, "\n".join(found)


def test_placeholder_patterns_leave_ordinary_text_alone():
    assert not PLACEHOLDER.search("None of the runs; p ∈ {0, 0.5}; the margin is 1.94 points; MTL − STL; a nanny")
    for text in ("there MARGIN points", "needs MIN_RUNS seeds", "{n_holds} hold", "{margin:g}", "TODO", "nan %",
                 "p = None", "None points"):
        assert PLACEHOLDER.search(text), text
