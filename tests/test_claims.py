"""Claim verdicts come from the data: synthetic records with a known truth get the right verdict under the
one rule (t intervals over seeds, paired within a seed, one equivalence rule)."""
import numpy as np
import pandas as pd

from hetnoise import claims, report


def multiclass_frame(clean_slope, corrupted_drop=0.0, seeds=3, noise=0.005, seed=0, classes=3):
    """Rows of seeds × clean classes × p; each seed has its own level (what a seed shares across its runs)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(seeds):
        level = rng.normal(0, noise)
        for p in (0.0, 0.5, 0.6, 0.8, 0.9, 1.0):
            for c in range(classes):
                rows.append({"profile": "fashion", "dataset": "fashion-mnist", "strategy": "exclude", "p": p,
                             "seed": s, "clean_class": c, "run_id": f"{s}-{c}-{p}",
                             "clean_acc": 0.9 + level + clean_slope * p + rng.normal(0, noise),
                             "corrupted_acc": 0.9 + level - corrupted_drop * p + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def verdict(table, claim_start):
    row = table[table.claim.str.startswith(claim_start)]
    assert len(row) == 1, table
    return row.iloc[0]


def test_flat_clean_class_holds_and_a_falling_one_does_not():
    flat = report.evaluate({"multiclass": multiclass_frame(0.0)})
    assert verdict(flat, "clean-class").verdict == claims.HOLDS
    falling = report.evaluate({"multiclass": multiclass_frame(-0.30)})  # loses 30 points by p = 1
    assert verdict(falling, "clean-class").verdict == claims.FAILS
    assert "−" in verdict(falling, "clean-class").ours or "-" in verdict(falling, "clean-class").ours


def test_knee_claim_uses_the_largest_p_up_to_the_papers_knee():
    held = report.evaluate({"multiclass": multiclass_frame(0.0, corrupted_drop=0.0)})
    row = verdict(held, "corrupted-class")
    assert row.verdict == claims.HOLDS and "p = 0.8" in row.ours  # Fashion-MNIST stands in for MNIST: knee 0.8
    dropped = report.evaluate({"multiclass": multiclass_frame(0.0, corrupted_drop=0.5)})
    assert verdict(dropped, "corrupted-class").verdict == claims.FAILS


def test_noisy_data_is_inconclusive_and_too_few_runs_say_so():
    noisy = report.evaluate({"multiclass": multiclass_frame(-0.05, noise=0.2, seed=3)})
    assert verdict(noisy, "clean-class").verdict == claims.UNDECIDED  # 20-point run-to-run spread
    one_seed = multiclass_frame(0.0, seeds=1, classes=10)  # ten clean classes of one seed are one unit
    row = verdict(report.evaluate({"multiclass": one_seed}), "clean-class")
    assert row.verdict == claims.TOO_FEW and "needs 3 seeds" in row.why


def mtl_frame(benefit_p0, benefit_p1, runs=4, seed=0):
    """`runs` class splits, one seed each; a split's difficulty moves its MTL and STL runs alike."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 0.02, runs)
    rows = [{"profile": "paper", "dataset": "cifar100", "weight_decay": 5e-4, "mode": "stl", "p": 0.0,
             "split_seed": k, "seed": 0, "task1_acc": 0.75 + difficulty[k] + rng.normal(0, 0.003)} for k in range(runs)]
    for p in (0.0, 0.5, 1.0):
        benefit = benefit_p0 + (benefit_p1 - benefit_p0) * p
        rows += [{"profile": "paper", "dataset": "cifar100", "weight_decay": 5e-4, "mode": "mtl", "p": p,
                  "split_seed": k, "seed": 0, "task1_acc": 0.75 + difficulty[k] + benefit + rng.normal(0, 0.003)}
                 for k in range(runs)]
    return pd.DataFrame(rows)


def test_mtl_claims_follow_the_benefit():
    like_paper = report.evaluate({"mtl": mtl_frame(0.04, 0.0)})
    assert verdict(like_paper, "the transfer benefit shrinks").verdict == claims.HOLDS
    assert verdict(like_paper, "at p = 1").verdict == claims.HOLDS
    assert verdict(like_paper, "MTL Task1 does not").verdict == claims.HOLDS
    hurt = report.evaluate({"mtl": mtl_frame(0.04, -0.10)})
    assert verdict(hurt, "at p = 1").verdict == claims.FAILS
    assert verdict(hurt, "MTL Task1 does not").verdict == claims.FAILS
    single = report.evaluate({"mtl": mtl_frame(0.04, 0.0, runs=1)})
    assert set(single.verdict) == {claims.TOO_FEW}


def test_multilabel_clean_group_per_mode_and_empty_input():
    rng = np.random.default_rng(0)
    rows = [{"profile": "paper", "dataset": "mini-coco", "case": c, "mode": m, "p": p, "seed": s,
             "map_clean": 0.30 + rng.normal(0, 0.003)}
            for m in ("flip", "swap") for c in (1, 2) for p in (0, 0.5, 1) for s in range(3)]
    table = report.evaluate({"multilabel": pd.DataFrame(rows)})
    assert list(table.verdict) == [claims.HOLDS] * 4 and list(table.runs) == [9] * 4  # swap and flip apart
    assert sorted(table.scope) == sorted(f"mini-coco, case {c}, {m}" for m in ("flip", "swap") for c in (1, 2))
    empty = report.evaluate({})
    assert empty.empty and "verdict" in empty.columns


def test_a_ceiling_cannot_show_a_drop_and_a_real_change_inside_the_margin_holds_in_words():
    pinned = multiclass_frame(0.0, noise=0.0).assign(clean_acc=1.0)
    assert verdict(report.evaluate({"multiclass": pinned}), "clean-class").verdict == claims.CEILINGED
    small_but_real = multiclass_frame(-0.012, noise=0.0005)  # −1.2 points over p = 0 → 1: inside the margin
    row = verdict(report.evaluate({"multiclass": small_but_real}), "clean-class")
    assert abs(float(row.ours.split()[0])) < claims.MARGIN and row.verdict == claims.HOLDS
    assert row.why == f"flat within ±{claims.MARGIN:g} points; a small real decline of 1.2 points"
    larger = multiclass_frame(-0.03, noise=0.0005)  # −3 points, wholly beyond the margin
    assert verdict(report.evaluate({"multiclass": larger}), "clean-class").verdict == claims.FAILS


def test_benefit_claims_need_a_benefit_at_p0():
    none = report.evaluate({"mtl": mtl_frame(0.0, 0.0)})
    assert verdict(none, "multi-task learning helps").verdict != claims.HOLDS
    for claim in ("the transfer benefit shrinks", "at p = 1"):
        assert verdict(none, claim).verdict == claims.NOT_APPLICABLE
        assert "no transfer benefit" in verdict(none, claim).why


def test_every_verdict_but_holds_says_why_and_the_margin_comes_from_the_paper():
    assert claims.MARGIN == round(3.87 / 2, 2)
    tables = [report.evaluate({"multiclass": multiclass_frame(s, noise=n)}) for s, n in ((-0.3, 0.005), (-0.05, 0.2))]
    tables += [report.evaluate({"mtl": mtl_frame(b0, b1, runs=r)}) for b0, b1, r in ((0.04, -0.1, 4), (0.0, 0.0, 4),
                                                                                     (0.04, 0.0, 1))]
    rows = pd.concat(tables)
    assert (rows.verdict != claims.HOLDS).any()
    assert all(bool(w) for v, w in zip(rows.verdict, rows.why) if v != claims.HOLDS)
    assert all(not w or w.startswith("flat within") for v, w in zip(rows.verdict, rows.why) if v == claims.HOLDS)


def test_clean_class_precision_is_checked_where_recorded_and_a_sink_fails():
    frame = multiclass_frame(0.0)
    frame["strategy"] = "include"
    frame["clean_precision"] = 0.9 - 0.7 * frame.p  # the clean class takes in other classes' images
    frame.loc[frame.p == 0.0, "clean_precision"] = np.nan  # older records without the field
    row = verdict(report.evaluate({"multiclass": frame}), "clean-class precision")
    assert row.verdict == claims.FAILS and row.runs == frame[frame.p > 0].run_id.nunique()
    assert "p = 0.5 → 1" in row.test and row.ours.startswith("-35.0")  # the change over the runs' p range
    assert verdict(report.evaluate({"multiclass": frame.drop(columns="clean_precision")}), "clean-class").claim \
        .startswith("clean-class accuracy")


def test_five_class_tasks_are_also_checked_where_the_labels_say_nothing():
    """With 5-class tasks Task2's labels are independent of the image at p = 4/5, not at p = 1 (where they
    name a class the image is not): a benefit gone at 0.8 and back at 1 holds the first claim, fails the second."""
    rng = np.random.default_rng(1)
    rows = [{"profile": "real", "dataset": "mnist", "weight_decay": 5e-4, "mode": "stl", "p": 0.0, "split_seed": k,
             "seed": 0, "task1_acc": 0.85 + rng.normal(0, 0.003)} for k in range(4)]
    for p, b in ((0.0, 0.04), (0.5, 0.03), (0.818, 0.0), (1.0, 0.04)):
        rows += [{"profile": "real", "dataset": "mnist", "weight_decay": 5e-4, "mode": "mtl", "p": p, "split_seed": k,
                  "seed": 0, "task1_acc": 0.85 + b + rng.normal(0, 0.003)} for k in range(4)]
    table = report.evaluate({"mtl": pd.DataFrame(rows)})
    blind = verdict(table, "the transfer benefit is gone where")
    assert blind.verdict == claims.HOLDS and "p = 4/5" in blind.claim and "p = 0.818" in blind.claim
    assert verdict(table, "at p = 1").verdict == claims.FAILS
    fifty = report.evaluate({"mtl": mtl_frame(0.04, 0.0)})  # 50-class tasks: p = 49/50 is nearest p = 1, no extra claim
    assert not fifty.claim.str.startswith("the transfer benefit is gone where").any()


def test_multilabel_runs_of_another_length_get_verdicts_of_their_own():
    rng = np.random.default_rng(0)
    rows = [{"profile": "real", "dataset": "mnist-fashion-mosaics", "case": 1, "mode": "swap", "p": p, "seed": s,
             "epochs": e, "map_clean": 0.70 + (0.06 * p if e == 2 else 0.0) + rng.normal(0, 0.003)}
            for e in (2, 4) for p in (0, 0.5, 1) for s in range(3)]
    table = report.evaluate({"multilabel": pd.DataFrame(rows)})
    by_scope = dict(zip(table.scope, table.verdict))
    assert by_scope == {"mnist-fashion-mosaics, case 1, swap, 2 epochs": claims.FAILS,
                        "mnist-fashion-mosaics, case 1, swap, 4 epochs": claims.HOLDS}
