"""The intro's summary: one line per claim of the paper, premises and extensions counted apart, each test's
wording once; and the provenance page folded per study. Fast: no book is built."""
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from hetnoise import claims, records, report, studies
from hetnoise.claims import FAILS, HOLDS, TOO_FEW, UNDECIDED, Verdict

PAPER_RAN = SimpleNamespace(paper_setup={"runs": "3 per p"})
PAPER_PROPOSED = SimpleNamespace(paper_setup={"runs": "none; proposed in §6"})


def verdict(claim="clean accuracy stays flat", scope="mnist, strategy exclude", paper="flat (Fig. 4)", ours="+0.1",
            outcome=HOLDS, test="test A", study="multi-class", kind=""):
    return Verdict(study, claim, scope, "paper", paper, ours, outcome, "", test, 3, kind)


@pytest.mark.parametrize("study, made, kind", [
    (PAPER_RAN, verdict(), report.PAPER_CLAIM),
    (PAPER_RAN, verdict(claim="MTL helps Task1 at p = 0 (the premise)"), report.PREMISE),
    (PAPER_RAN, verdict(paper="not measured (accuracy only)"), report.EXTENSION),
    (PAPER_RAN, verdict(scope="mosaics, case 1, flip", kind=report.EXTENSION), report.EXTENSION),
    (PAPER_RAN, verdict(scope="Fashion-MNIST, MNIST protocol"), report.PAPER_CLAIM),
    (PAPER_PROPOSED, verdict(claim="the noise raises the range's error (the premise)"), report.EXTENSION),
    (PAPER_PROPOSED, verdict(kind=report.PAPER_CLAIM), report.PAPER_CLAIM),
])
def test_kind_of_follows_the_stated_rule(study, made, kind):
    assert report.kind_of(study, made) == kind


@pytest.mark.parametrize("verdicts, expected", [
    ([HOLDS, HOLDS], (HOLDS, "")),
    ([HOLDS, TOO_FEW], (HOLDS, f"slices: 1 {HOLDS} · 1 {TOO_FEW}")),
    ([HOLDS, FAILS, UNDECIDED], (report.MIXED, f"slices: 1 {HOLDS} · 1 {FAILS} · 1 {UNDECIDED}")),
    ([TOO_FEW, TOO_FEW], (TOO_FEW, "")),
])
def test_a_claims_verdict_over_its_slices(verdicts, expected):
    assert report.overall(verdicts) == expected


def mixed_table() -> pd.DataFrame:
    made = [verdict(), verdict(scope="mnist, strategy include", outcome=FAILS, ours="-3.0", test="test B"),
            verdict(claim="knee at 0.8", ours="–", outcome=TOO_FEW, test="test C"),
            verdict(claim="knee at 0.8", scope="mnist, strategy include", ours="–", outcome=TOO_FEW, test="test C"),
            verdict(claim="MTL helps (the premise)", test="test A"),
            verdict(scope="mosaics, flip", test="test A", kind=report.EXTENSION)]
    return claims.table([replace(v, kind=report.kind_of(PAPER_RAN, v)) for v in made])


def test_one_line_per_claim_and_the_headline_counts_only_the_papers_claims():
    lines = report.claim_lines(mixed_table())
    ours = lines[lines.kind == report.PAPER_CLAIM]
    assert list(ours.claim) == ["clean accuracy stays flat", "knee at 0.8"]
    assert list(ours.verdict) == [report.MIXED, TOO_FEW]
    assert ours.iloc[0].ours == ["mnist, strategy exclude: +0.1 (holds)",
                                 "mnist, strategy include: -3.0 (does not hold)"]
    assert ours.iloc[1].ours == ["mnist (2 slices): no reading, too few runs"]
    counts = report.summary_counts(mixed_table())
    assert counts["n_claims"] == 2 and counts["n_premises"] == 1 and counts["n_extensions"] == 1
    assert counts[f"claims {report.MIXED}"] == 1 and counts["claims undecidable"] == 1
    assert report.counted(ours) == "1 is mixed (its slices disagree), 1 has too few runs to decide"


def test_each_tests_wording_is_written_once_and_referenced_by_number():
    lines = report.claim_lines(mixed_table())
    page = report.summary_html(lines[lines.kind == report.PAPER_CLAIM], "k")
    for test in ("test A", "test B", "test C"):
        assert page.count(test) == 1
    assert 'href="#k-1"' in page and 'id="k-3"' in page and page.count('<td class="verdict"') == 2
    assert "data-label=\"verdict\"" in page


def test_the_published_records_keep_premises_and_extensions_out_of_the_headline():
    table, _ = report.split_smoke(report.from_results()[0])
    lines = report.claim_lines(table)
    counts = report.summary_counts(table)
    assert counts["n_claims"] == (lines.kind == report.PAPER_CLAIM).sum()
    assert set(table.kind) <= {report.PAPER_CLAIM, report.PREMISE, report.EXTENSION}
    assert not table[table.claim.str.contains("premise") & (table.kind == report.PAPER_CLAIM)].size
    assert not table[table.paper.str.contains("not measured|not run") & (table.kind != report.EXTENSION)].size


def test_provenance_folds_each_study():
    recs, _ = records.load_all()
    name = next(iter({r["study"] for r in recs}), None)
    if name is None:
        pytest.skip("no records")
    mine = [r for r in recs if r["study"] == name]
    text = report.study_provenance(studies.get(name), mine, records.repo_root() / "book")
    assert text.startswith("<details") and text.rstrip().endswith("</details>")
    assert f"{studies.get(name).title}: {len(mine)} runs" in text.splitlines()[1]
