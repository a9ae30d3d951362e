"""The K-at-once trainer: each model gets exactly its own labels, batch order and dropout masks, the same
weights as a separate run with dropout on, its own best checkpoint; only LeNet-5s are stacked."""
import copy
from dataclasses import replace

import pytest
import torch

from hetnoise import data, ensemble, models, spec, studies, train

LENET_SMOKE = studies.get("multiclass").profiles["smoke"].recipes["lenet5"]


@pytest.fixture(scope="module")
def digits():
    ds = data.load("digits")
    tr, va = data.stratified_split(ds.y_train.numpy(), 0.1, 0)
    return ds, ds.x_train[tr][:640], ds.y_train[tr][:640], ds.x_train[va], ds.y_train[va]


def noisy_labels(y, k):
    """Model 0: the true labels; the others: their own seeded random labels."""
    g = torch.Generator().manual_seed(7)
    return [y.clone()] + [torch.randint(0, 10, y.shape, generator=g) for _ in range(k - 1)]


def test_each_model_sees_exactly_the_batches_it_would_see_alone(digits, monkeypatch):
    ds, x, y, xv, yv = digits
    ys, seeds, r = noisy_labels(y, 3), [4, 0, 9], replace(LENET_SMOKE, epochs=2)
    seen_alone, loss_fn = [], train.loss_fn

    def recording(kind):
        inner = loss_fn(kind)

        def criterion(logits, target):
            if logits.requires_grad:
                seen_alone[-1].append(target.clone())
            return inner(logits, target)
        return criterion

    monkeypatch.setattr(train, "loss_fn", recording)
    for yk, s in zip(ys, seeds):
        seen_alone.append([])
        train.fit(models.LeNet5(10, 1), x, yk, xv, yv, r, mean=ds.mean, std=ds.std, seed=s, log=lambda _: None)
    monkeypatch.undo()

    seen_together = []
    per_model_loss = ensemble.per_model_loss

    def record(kind, logits, target):
        if logits.requires_grad:
            seen_together.append(target.clone())
        return per_model_loss(kind, logits, target)

    monkeypatch.setattr(ensemble, "per_model_loss", record)
    ensemble.fit_many([models.LeNet5(10, 1) for _ in seeds], x, ys, xv, yv, r, mean=ds.mean, std=ds.std,
                      seeds=seeds, log=lambda _: None, batched=True)
    steps = r.epochs * (len(x) // r.batch_size)
    assert len(seen_together) == steps and all(len(s) == steps for s in seen_alone)
    for k in range(3):
        assert all(torch.equal(together[k], alone) for together, alone in zip(seen_together, seen_alone[k]))


def test_k_at_once_gives_the_weights_and_checkpoints_of_separate_runs(digits):
    """The real LeNet-5, dropout 0.5 on: each stacked model draws its own masks, as it would alone."""
    ds, x, y, xv, yv = digits
    ys, seeds, r = noisy_labels(y, 3), [0, 1, 2], replace(LENET_SMOKE, epochs=3)
    inits = [models.build("lenet5", 10, 1, seed=s) for s in seeds]
    assert all(m.dropout == 0.5 for m in inits)
    alone = [copy.deepcopy(m) for m in inits]
    together = [copy.deepcopy(m) for m in inits]
    test = (ds.x_test, ds.y_test)  # per-epoch test figures, as the multi-class study asks for
    h_alone = [train.fit(m, x, yk, xv, yv, r, mean=ds.mean, std=ds.std, seed=s, log=lambda _: None, test=test)
               for m, yk, s in zip(alone, ys, seeds)]
    h_together = ensemble.fit_many(together, x, ys, xv, yv, r, mean=ds.mean, std=ds.std, seeds=seeds,
                                   log=lambda _: None, batched=True, test=test)
    for a, b, ha, hb in zip(alone, together, h_alone, h_together):
        assert ha.best_epoch == hb.best_epoch
        assert [e["val_loss"] for e in ha.epochs] == pytest.approx([e["val_loss"] for e in hb.epochs], rel=1e-3)
        assert [e["test_acc"] for e in ha.epochs] == pytest.approx([e["test_acc"] for e in hb.epochs], abs=0.02)
        assert {k for e in hb.epochs for k in e} == {k for e in ha.epochs for k in e}
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=2e-3, rtol=1e-2)
        val_loss = torch.nn.functional.cross_entropy(train.predict(b, xv, ds.mean, ds.std), yv).item()
        assert val_loss == pytest.approx(hb.best_val_loss, abs=1e-5)  # each holds its own best epoch
    assert h_together[0].epochs[-1]["val_acc"] > 0.5 > h_together[1].epochs[-1]["val_acc"]


def test_batchnorm_models_train_one_at_a_time(digits):
    ds, x, y, xv, yv = digits
    nets = [models.resnet18(10, width=0.125, in_channels=1) for _ in range(2)]
    r = spec.Recipe(epochs=1, batch_size=64)
    with pytest.raises(ValueError, match="LeNet-5s only"):
        ensemble.fit_many(nets, x[:128], [y[:128]] * 2, xv[:32], yv[:32], r, mean=ds.mean, std=ds.std,
                          seeds=[0, 1], log=lambda _: None, batched=True)
    hists = ensemble.fit_many(nets, x[:128], [y[:128]] * 2, xv[:32], yv[:32], r, mean=ds.mean, std=ds.std,
                              seeds=[0, 1], log=lambda _: None)
    assert [len(h.epochs) for h in hists] == [1, 1]


def test_bad_input_is_refused(digits):
    ds, x, y, xv, yv = digits
    r = replace(LENET_SMOKE, epochs=1)
    kw = dict(mean=ds.mean, std=ds.std, log=lambda _: None)
    two = [models.LeNet5(), models.LeNet5()]
    with pytest.raises(ValueError, match="2 label vectors"):
        ensemble.fit_many(two, x, [y], xv, yv, r, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="one architecture"):
        ensemble.fit_many([models.LeNet5(), models.LeNet5(num_classes=5)], x, [y, y], xv, yv, r, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="one label per training image"):
        ensemble.fit_many(two, x, [y, y[:-1]], xv, yv, r, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="y_val"):
        ensemble.fit_many(two, x, [y, y], xv, yv[:-1], r, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="empty"):
        ensemble.fit_many([], x, [], xv, yv, r, seeds=[], **kw)


def test_nothing_in_the_package_reads_benchmark_output():
    from pathlib import Path

    package = Path(ensemble.__file__).parent
    assert not [p.name for p in package.glob("*.py") if "benchmarks" in p.read_text()]
