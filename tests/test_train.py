"""The training loop: batch augmentation, checkpoint choice, determinism, and that it learns."""
from dataclasses import replace

import torch

from hetnoise import data, models, studies, train

LENET_SMOKE = studies.get("multiclass").profiles["smoke"].recipes["lenet5"]
RESNET_SMOKE = studies.get("multiclass").profiles["smoke"].recipes["resnet18"]


def test_crop_flip_is_a_shifted_window_of_the_padded_image():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).view(2, 1, 6, 6)
    g = torch.Generator().manual_seed(0)
    out = train.crop_flip(x, 2, g)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, a:a + 6, b:b + 6] for a in range(5) for b in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)


def test_fit_epochs_keeps_each_models_best_epoch_and_logs_its_label():
    """The one loop, driven by hand-made figures: two models whose validation losses fall and rise apart."""
    losses = iter([[3.0, 5.0], [2.0, 6.0], [2.5, 4.0]])
    kept, lines = [], []
    hists = train.fit_epochs(3, lambda: [{"train_loss": 1.0}] * 2,
                             lambda: [{"val_loss": v} for v in next(losses)], kept.append,
                             log=lines.append, label="[run]")
    assert [h.best_epoch for h in hists] == [2, 3] and [h.best_val_loss for h in hists] == [2.0, 4.0]
    assert kept == [[True, True], [True, False], [False, True]]
    assert [e["val_loss"] for e in hists[1].epochs] == [5.0, 6.0, 4.0] and all(h.seconds >= 0 for h in hists)
    assert len(lines) == 3 and lines[0].startswith("[run] epoch=1 models=2")


def test_fit_learns_digits_and_keeps_best_checkpoint():
    ds = data.load("digits")
    tr, va = data.stratified_split(ds.y_train.numpy(), 0.1, 0)
    net = models.LeNet5(10, 1)
    r = replace(LENET_SMOKE, epochs=6)
    hist = train.fit(net, ds.x_train[tr], ds.y_train[tr], ds.x_train[va], ds.y_train[va], r,
                     mean=ds.mean, std=ds.std, seed=0, log=lambda s: None)
    losses = [e["val_loss"] for e in hist.epochs]
    assert hist.best_epoch == 1 + losses.index(min(losses))
    val_loss = torch.nn.functional.cross_entropy(train.predict(net, ds.x_train[va], ds.mean, ds.std), ds.y_train[va])
    assert abs(val_loss.item() - min(losses)) < 1e-5  # the model holds the best epoch's weights
    acc = (train.predict(net, ds.x_test, ds.mean, ds.std).argmax(1) == ds.y_test).float().mean()
    assert acc > 0.8


def test_fit_is_deterministic_on_cpu():
    ds = data.load("digits")
    x, y = ds.x_train[:256], ds.y_train[:256]
    r = replace(RESNET_SMOKE, epochs=1)
    outs = []
    for _ in range(2):
        with models.seeded(0):
            net = models.resnet18(10, width=0.25, in_channels=1)
        train.fit(net, x, y, x[:64], y[:64], r, mean=ds.mean, std=ds.std, seed=1, log=lambda s: None)
        outs.append(train.predict(net, x[:8], ds.mean, ds.std))
    assert torch.allclose(outs[0], outs[1])
