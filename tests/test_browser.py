"""The built book in a real browser: every page loads in headless Chromium with no JavaScript error,
no broken image, no broken local link and no request leaving the machine (MathJax is served from the
book's own files), and equations are typeset; at 1280 px no table or figure overflows the text column,
no output or equation scrolls sideways and no figure is shrunk until its text is too small to read,
every image has alt text, and no output shows a warning, a traceback or an absolute path. A screenshot
of each page is kept as a test artefact.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the test is
skipped, unless HETNOISE_REQUIRE_BROWSER=1 (set by CI), which turns their absence into a failure."""
import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.slow  # every test here builds the book and opens it in a browser

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("HETNOISE_ARTIFACTS", ROOT / "_build" / "test-artifacts")) / "screenshots"


def require_browser():
    if CHROMIUM and CHROMEDRIVER:
        return
    message = "headless Chromium not found: `apt-get install chromium chromium-driver`"
    if os.environ.get("HETNOISE_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(built_book):
    html_dir, _ = built_book
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def toc_pages():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]


def link_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


BROKEN_IMAGES = ("return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                 ".map(i => (i.currentSrc || i.src).slice(0, 80))")
LINKS = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
IDS = "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"
REQUESTS = "return performance.getEntriesByType('resource').map(e => e.name)"
TYPESET = "return [document.querySelectorAll('mjx-container').length, document.querySelectorAll('.math').length]"
# What stops a reader at 1280 px, one line each: a table or figure wider than the text column, printed
# output or an equation that scrolls sideways, a figure shown so small that 10-pt text (the size
# plots.style draws at 110 dpi; 96 CSS px are 72 pt) renders below 9 pt, to a tenth of a point. The
# figures, alt text and outputs of a published executed notebook are left as its revision made them.
MIN_SCALE = 8.95 / (10 * 110 / 96)
OURS = "const ours = e => !e.closest('.executed-notebook[data-source=\"published\"]');"
LAYOUT = OURS + ("""
const column = document.querySelector('article.bd-article') || document.body;
const right = column.getBoundingClientRect().right - parseFloat(getComputedStyle(column).paddingRight) + 1;
const name = (i, k) => (i.currentSrc || i.src).startsWith('data:') ? `${k + 1} (inline)`
  : (i.currentSrc || i.src).split('/').pop().slice(0, 24);
const found = [];
for (const t of column.querySelectorAll('table')) {
  const w = t.getBoundingClientRect().width, room = t.parentElement.clientWidth;
  if (w > room + 1 || t.getBoundingClientRect().right > right)
    found.push(`table headed '${(t.querySelector('th') || t).textContent.trim().slice(0, 30)}' """
           """is ${Math.round(w)} px wide in ${room} px`);
}
for (const e of column.querySelectorAll('.cell_output pre, mjx-container[display="true"]'))
  if (e.scrollWidth > e.clientWidth + 1 && (!e.closest('.executed-notebook') || e.closest('.output_area')))
    found.push(`'${e.textContent.trim().slice(0, 40)}' scrolls sideways (${e.scrollWidth} px in ${e.clientWidth} px)`);
column.querySelectorAll('img').forEach((i, k) => {
  const w = i.getBoundingClientRect().width;
  if (i.getBoundingClientRect().right > right) found.push(`figure ${name(i, k)} runs past the text column`);
  if (i.naturalWidth && w < arguments[0] * i.naturalWidth && ours(i))
    found.push(`figure ${name(i, k)} is shrunk from ${i.naturalWidth} to ${Math.round(w)} px: its text is below 9 pt`);
});
return found;""")
ALTS = OURS + ("return [...document.images].filter(ours)"
               ".map(i => [(i.currentSrc || i.src).split('/').pop().slice(0, 24), i.getAttribute('alt') || ''])")
# alt text that says nothing: none, a file name, or nbconvert's placeholder
EMPTY_ALT = re.compile(r"^\s*$|\.(png|jpe?g|svg|gif)$|^No description has been provided", re.I)
# the text of every output: cells of the book's pages and of the executed notebooks shown on one
OUTPUTS = OURS + ("""
const outs = [...document.querySelectorAll('.cell_output')].filter(e => !e.querySelector('.executed-notebook'));
const texts = [...outs, ...document.querySelectorAll('.executed-notebook .output_area')]"""
                  """.filter(ours).map(e => e.textContent);
const streams = [...document.querySelectorAll('.output.stderr, .output.traceback, .output_stderr, .output_error')]"""
                  """.filter(ours).length;
return [texts, streams];""")
NOISE = re.compile(r"Traceback|\b\w*Warning\b|(?<![\w.~$:/])/(?:[\w.-]+/)+[\w.-]+")


def reader_problems(browser, page: str) -> list[str]:
    """Layout at 1280 px, alt text of every image, and outputs free of warnings, tracebacks and absolute paths."""
    problems = [f"{page}: {found}" for found in browser.execute_script(LAYOUT, MIN_SCALE)]
    problems += [f"{page}: image {src} has no alt text (alt={alt!r})"
                 for src, alt in browser.execute_script(ALTS) if EMPTY_ALT.search(alt)]
    texts, streams = browser.execute_script(OUTPUTS)
    if streams:
        problems.append(f"{page}: {streams} output(s) on stderr or with a traceback")
    return problems + [f"{page}: output shows {m.group()!r}: …{text[max(0, m.start() - 60):m.end() + 20]!r}…"
                       for text in texts for m in [NOISE.search(text)] if m]


def test_every_page_loads_cleanly_in_chromium(server, browser):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems, checked_links = [], {}
    for page in toc_pages():
        url = f"{server}/{page}.html"
        browser.get_log("browser")  # drop what came before this page
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        title = browser.title
        height = min(int(browser.execute_script("return document.body.scrollHeight")), 6000)
        browser.set_window_size(1280, max(height, 600))
        browser.save_screenshot(str(ARTIFACTS / f"{page}.png"))
        if "404" in title or not browser.find_elements("css selector", "main h1, article h1"):
            problems.append(f"{page}: did not load (title {title!r})")
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{page}: console error: {entry['message']}")
        problems += [f"{page}: broken image {src}" for src in browser.execute_script(BROKEN_IMAGES)]
        problems += [f"{page}: request leaves the machine: {u}" for u in browser.execute_script(REQUESTS)
                     if not u.startswith(server) and not u.startswith("data:")]
        if browser.find_elements("css selector", ".math"):
            try:
                WebDriverWait(browser, 30).until(lambda d: d.execute_script(TYPESET)[0] >= d.execute_script(TYPESET)[1])
            except TimeoutException:
                pass
            typeset, maths = browser.execute_script(TYPESET)
            if typeset < maths:
                problems.append(f"{page}: {maths - typeset} of {maths} equations not typeset")
        problems += reader_problems(browser, page)
        ids = set(browser.execute_script(IDS))
        for href in browser.execute_script(LINKS):
            target, _, fragment = href.partition("#")
            if not target.startswith(server):
                continue
            if target == url and fragment and urllib.parse.unquote(fragment) not in ids:
                problems.append(f"{page}: link to missing anchor #{fragment}")
            if target not in checked_links:
                checked_links[target] = link_status(target)
            if checked_links[target] != 200:
                problems.append(f"{page}: broken link {href} ({checked_links[target]})")
        browser.set_window_size(1280, 1000)
    assert not problems, "\n".join(problems)
    assert len(list(ARTIFACTS.glob("*.png"))) >= len(toc_pages())
    assert len(checked_links) > len(toc_pages())  # the navigation links were followed too


# What a reader at 1280 px and at phone width (390 px) must see: the verdicts of the intro's summary without
# scrolling the page sideways (a table may scroll inside its own box, but the verdict column is not left
# there), every code block whole (wrapped, or scrolling inside itself), and each figure its own alt text.
WIDTHS = (1280, 390)
VERDICTS_IN_VIEW = """
const width = window.innerWidth, found = [];
if (document.documentElement.scrollWidth > width + 1)
  found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${width} px`);
const cells = [...document.querySelectorAll('table.claims-summary td.verdict')].filter(c => !c.closest('details'));
if (!cells.length) found.push('no summary table with a verdict column outside a fold');
for (const c of cells) {
  const r = c.getBoundingClientRect();
  let box = {left: 0, right: width};
  for (let e = c.parentElement; e; e = e.parentElement)
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX)) {
      const b = e.getBoundingClientRect();
      box = {left: Math.max(box.left, b.left), right: Math.min(box.right, b.right)};
    }
  if (r.width < 1 || r.left < box.left - 1 || r.right > box.right + 1)
    found.push(`verdict '${c.textContent.trim().slice(0, 30)}' at ${Math.round(r.left)}–${Math.round(r.right)} px, `
               + `outside the visible ${Math.round(box.left)}–${Math.round(box.right)} px`);
}
return found;"""
CUT_CODE = """
const column = document.querySelector('article.bd-article') || document.body, found = [];
for (const e of column.querySelectorAll('pre')) {
  const r = e.getBoundingClientRect(), style = getComputedStyle(e);
  if (r.width < 1) continue;  // folded away
  const scrolls = ['auto', 'scroll'].includes(style.overflowX);
  if (r.right > window.innerWidth + 1 || (e.scrollWidth > e.clientWidth + 1 && !scrolls))
    found.push(`'${e.textContent.trim().slice(0, 40)}' is cut off (${e.scrollWidth} px of text in ${e.clientWidth} px, `
               + `right edge at ${Math.round(r.right)} px of ${window.innerWidth})`);
}
return found;"""
FIGURE_ALTS = OURS + ("""
const column = document.querySelector('article.bd-article') || document.body;
return [...column.querySelectorAll('img')].filter(ours).map(i => (i.getAttribute('alt') || '').trim());""")
# The figures `plots.show` draws: number, caption, and the CSV their link downloads (decoded, as lines).
NUMBERED = """
return [...document.querySelectorAll('figure.hetnoise-figure')].map(f => {
  const link = f.querySelector('figcaption a[download]');
  const csv = link && link.href.startsWith('data:text/csv;base64,') ? atob(link.href.split(',')[1]) : '';
  return [f.querySelector('figcaption').textContent, link ? link.getAttribute('download') : '',
          csv.trim().split('\\n').length, f.querySelector('img').naturalWidth];
});"""


def at_width(browser, url: str, width: int) -> None:
    """Open a page with a viewport exactly `width` CSS px wide (Chrome's device metrics, not its window)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.execute_script("return window.innerWidth") == width


@pytest.fixture
def narrow(browser):
    """The browser, its viewport reset to the default after the test."""
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width", WIDTHS)
def test_intro_summary_verdicts_are_in_view(server, narrow, width):
    at_width(narrow, f"{server}/intro.html", width)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    narrow.save_screenshot(str(ARTIFACTS / f"intro-{width}px.png"))
    problems = narrow.execute_script(VERDICTS_IN_VIEW)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_code_block_is_cut_off(server, narrow, width):
    problems = []
    for page in toc_pages():
        at_width(narrow, f"{server}/{page}.html", width)
        problems += [f"{page} at {width} px: {found}" for found in narrow.execute_script(CUT_CODE)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", toc_pages())
def test_each_figure_has_its_own_alt_text(server, browser, page):
    browser.get(f"{server}/{page}.html")
    alts = browser.execute_script(FIGURE_ALTS)
    empty = [k + 1 for k, alt in enumerate(alts) if EMPTY_ALT.search(alt)]
    shared = sorted({alt for alt in alts if alts.count(alt) > 1})
    assert not empty and not shared, f"{page}: figures {empty} without alt text; alt texts shared: {shared}"


def test_numbered_figures_have_a_caption_naming_their_runs_and_their_numbers_as_csv(server, browser):
    problems, pages_with_figures = [], 0
    for page in toc_pages():
        browser.get(f"{server}/{page}.html")
        figures = browser.execute_script(NUMBERED)
        pages_with_figures += bool(figures)
        for k, (caption, name, lines, width) in enumerate(figures, start=1):
            if not re.match(rf"Figure {k}\. .+; drawn from \d+ runs? \(", caption):
                problems.append(f"{page}: figure {k}'s caption is {caption[:80]!r}")
            if not name.endswith(f"figure-{k}.csv") or lines < 2:
                problems.append(f"{page}: figure {k}'s CSV {name!r} has {lines} lines")
            if not width:
                problems.append(f"{page}: figure {k} did not load")
    assert not problems, "\n".join(problems)
    assert pages_with_figures >= 3  # the multi-class, regression and features pages


RUN_LINKS = """
return [...document.querySelectorAll('figure.hetnoise-figure figcaption')].map(c => {
  const link = c.querySelector('a[href*="provenance.html#runs-"]');
  const code = c.querySelector('code');
  return [link ? link.href : '', code ? code.textContent : ''];
});"""
TARGET_SHOWN = """
const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
const folded = target && target.closest('details');
return [Boolean(target), folded ? folded.open : true, target ? target.getBoundingClientRect().top : -1];"""


def test_each_figure_links_to_its_runs_and_names_the_sweep_that_makes_them(server, browser):
    problems, targets = [], set()
    for page in toc_pages():
        browser.get(f"{server}/{page}.html")
        for k, (href, command) in enumerate(browser.execute_script(RUN_LINKS), start=1):
            if not href or not command.startswith("hetnoise sweep "):
                problems.append(f"{page}: figure {k} has no link to its runs or no sweep command ({command!r})")
            else:
                targets.add(href)
    for href in sorted(targets):
        browser.get(href)
        found, opened, top = browser.execute_script(TARGET_SHOWN)
        if not (found and opened and 0 <= top < 800):
            problems.append(f"{href}: target found {found}, its section open {opened}, {top:.0f} px from the top")
    assert not problems, "\n".join(problems)
    assert targets
