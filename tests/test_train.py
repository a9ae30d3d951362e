"""The training loop: batch augmentation, checkpoint choice, determinism, and that it learns."""
from dataclasses import replace

import pytest
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


def test_speed_settings_per_model_and_device():
    """CUDA: LeNet-5 in fp32 and NCHW with a fused optimiser (autocast and channels_last cost it time), ResNet18
    with all three; CPU: fp32 and NCHW, fused only with engine "fast". Chosen from the device type alone, so
    the CUDA choice is checked here without a GPU."""
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    lenet, resnet = models.LeNet5(10, 1), models.resnet18(10, width=0.25)
    assert train.speed_for(lenet, cuda) == train.Speed(bf16=False, channels_last=False, fused=True)
    assert train.speed_for(resnet, cuda) == train.Speed(bf16=True, channels_last=True, fused=True)
    assert train.speed_for(resnet, cuda, "fast") == train.speed_for(resnet, cuda)
    for net in (lenet, resnet):
        assert train.speed_for(net, cpu) == train.Speed()
        assert train.speed_for(net, cpu, "fast") == train.Speed(fused=True)
    with pytest.raises(ValueError, match="engine"):
        train.speed_for(lenet, cpu, "turbo")


def test_layout_follows_the_choice_and_defaults_to_the_device():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    x = torch.zeros(2, 3, 4, 4)
    assert train.memory_format(x, cpu) is x and train.memory_format(x, cuda, False) is x
    assert train.memory_format(x, cpu, True).is_contiguous(memory_format=torch.channels_last)


def test_fast_engine_fuses_the_cpu_optimiser_and_still_learns():
    ds = data.load("digits")
    x, y = ds.x_train[:512], ds.y_train[:512]
    r = replace(LENET_SMOKE, epochs=3)
    runs = {}
    for engine in train.ENGINES:
        net = models.build("lenet5", 10, 1, seed=0)
        runs[engine] = train.fit(net, x, y, x[:128], y[:128], r, mean=ds.mean, std=ds.std, seed=0,
                                 log=lambda s: None, engine=engine)
        assert train.make_optimizer(net, r, 1, train.speed_for(net, torch.device("cpu"), engine).fused)[0] \
            .defaults["fused"] is (True if engine == "fast" else None)
    exact, fast = ([e["val_loss"] for e in runs[k].epochs] for k in train.ENGINES)
    assert fast[-1] < fast[0] and fast == pytest.approx(exact, rel=1e-2)
