# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Regression study: does noise in one range of targets hurt the others?
#
# One run of the study the paper proposes but does not run (Khanal & Kanan, §6): a regression task whose
# training targets inside one range [`low`, `high`] get truncated Gaussian noise, the rest staying clean.
# Every digit image is rotated by an angle drawn uniformly from [−`max_angle`, `max_angle`] (a fixed
# seed, so the task is the same data set on every machine), and LeNet-5 with one output, trained with
# mean squared error, predicts the angle. In the training split each angle inside [`low`, `high`] is,
# with probability `p`, replaced by a draw from N(angle, `sigma`²) truncated to [`low`, `high`] (the
# paper's proposal); validation and test angles stay true. We then measure test error in the
# corrupted range, in the clean range, overall, and on the clean angles next to the corrupted range.
# Run it with papermill, for example `papermill notebooks/regression.ipynb out.ipynb -p p 0.9` (MNIST)
# or `... -p p 0.9 -p profile smoke` (offline, seconds).

# %% tags=["parameters"]
profile = "mnist-rotation"  # mnist-rotation (earlier name: paper) or smoke: the default data set and the recipe
dataset = None  # None: the data set of the profile (mnist-rotation: mnist, smoke: digits)
model = "lenet5"  # LeNet-5 with one output, the angle
p = 0.5  # probability that a training angle inside [low, high] is corrupted
sigma = 20.0  # degrees: scale of the Gaussian noise before it is truncated to [low, high]
low = 0.0  # degrees: the corrupted range is [low, high]
high = 45.0
max_angle = 45.0  # rotation angles are uniform on [-max_angle, max_angle]
n_train = 12000  # at most this many training images, before the 9:1 train/validation split
seed = 0  # noise, initial weights, batch order and dropout
split_seed = 0  # which training images are used and the 9:1 train/validation split
epochs = None  # None: the profile's recipe; so for batch_size, optimizer, lr, weight_decay, schedule, augment
batch_size = None
optimizer = None
lr = None
weight_decay = None
schedule = None
augment = None
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/regression/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: computed from the parameters; else checked against them

# %%
from hetnoise import settings, spec

run = settings.from_namespace("regression", globals())

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from hetnoise import data, models, plots, records, regression, train

t_start = time.perf_counter()
plots.style()
recipe = spec.recipe(run)
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"])
dev = train.pick_device(run["device"])
print(f"{run['dataset']}: {len(ds.x_train)} training and {len(ds.x_test)} test images from {Path(ds.source).name}")
print(f"model lenet5 with one output, {recipe}, device {dev}")

# %% [markdown]
# ## The task: rotated digits
# The angles are drawn once per image from fixed seeds, for the whole training set and the whole test
# set, so a run that uses fewer training images sees the same angle for each image. The network is
# trained on angle / `max_angle` (so targets lie in [−1, 1]); errors are reported in degrees.

# %%
train_idx, val_idx = regression.subset(ds.y_train, run["n_train"], run["split_seed"])
parts = regression.rotated(ds.x_train, ds.x_test, run["max_angle"], train_idx, val_idx)
x_train, y_true = parts["train"]
mean, std = regression.pixel_stats(x_train)
fig, axes = plt.subplots(1, 8, figsize=(5.8, 1.1))
for ax, i in zip(axes, range(8)):
    ax.imshow(x_train[i, 0], cmap="gray_r")
    ax.set_title(f"{y_true[i]:+.0f}°", fontsize=8)
    ax.axis("off")
display(fig, metadata={"image/png": {"alt": "Eight rotated training digits, each titled with its rotation angle "
                                            "in degrees (counter-clockwise positive)."}})
plt.close(fig)

# %% [markdown]
# ## Noisy angles
# Only the training part is corrupted; the validation part, used to pick the checkpoint, and the test set
# keep their true angles.

# %%
y_noisy, report = regression.corrupt(y_true, run)
pd.DataFrame([{"range": f"[{run['low']:g}°, {run['high']:g}°]", "training angles in range": report.n_in_range,
               "changed": int(report.changed.sum()),
               "realised p": report.changed.sum() / max(report.n_in_range, 1),
               "mean shift (°)": report.mean_shift, "rms shift (°)": report.rms_shift}]).round(3)

# %%
fig, ax = plt.subplots(figsize=(4.2, 3.6))
ax.scatter(y_true[~report.changed], y_noisy[~report.changed], s=2, color=plots.CLEAN, label="unchanged")
ax.scatter(y_true[report.changed], y_noisy[report.changed], s=2, color=plots.CORRUPT, label="corrupted")
ax.set(xlabel="true angle (°)", ylabel="training label (°)", title=f"p = {run['p']}, σ = {run['sigma']:g}°")
ax.legend(markerscale=4)
display(fig, metadata={"image/png": {"alt": f"Scatter of training label against true angle: angles outside "
                                            f"[{run['low']:g}, {run['high']:g}] degrees lie on the diagonal; inside, "
                                            f"{int(report.changed.sum())} of {report.n_in_range} are moved "
                                            f"within the range."}})
plt.close(fig)

# %% [markdown]
# ## Training

# %%
net = regression.model(run, ds.x_train.shape[1])
history = regression.fit(net, parts, y_noisy, recipe, mean, std, run)
print(f"{models.count_parameters(net):,} parameters; best validation loss at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, ax = plt.subplots(figsize=(4.2, 2.8))
ax.plot(curves.epoch, np.sqrt(curves.train_loss) * run["max_angle"], ls="--", label="training (noisy)")
ax.plot(curves.epoch, np.sqrt(curves.val_loss) * run["max_angle"], label="validation (true)")
ax.axvline(history.best_epoch, color="grey", ls=":")
ax.set(xlabel="epoch", ylabel="root mean squared error (°)")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend()
display(fig, metadata={"image/png": {"alt": f"Root mean squared error per epoch on the noisy training angles and the "
                                            f"true validation angles; lowest validation loss at epoch "
                                            f"{history.best_epoch}."}})
plt.close(fig)

# %% [markdown]
# ## Test error per range of true angles

# %%
errs, by_angle = regression.evaluate(net, parts, mean, std, run)
display(regression.range_table(errs))
fig, ax = plt.subplots(figsize=(5.8, 2.8))
ax.axvspan(run["low"], run["high"], color=plots.CORRUPT, alpha=0.12, label="corrupted range")
ax.plot(by_angle["centre"], by_angle["mae"], marker="o", color=plots.OVERALL, label="mean absolute error")
ax.plot(by_angle["centre"], by_angle["bias"], marker=".", ls="--", color=plots.PAPER, label="mean signed error")
ax.axhline(0, color="grey", lw=0.8)
ax.set(xlabel="true angle (°)", ylabel="test error (°)",
       title=f"clean MAE {errs['mae_clean']:.2f}°, corrupted {errs['mae_corrupted']:.2f}°, "
             f"boundary {errs['mae_boundary']:.2f}°")
ax.legend()
display(fig, metadata={"image/png": {"alt": f"Test error per {regression.BIN:g}-degree bin of true angle, with the "
                                            f"corrupted range shaded: mean absolute error "
                                            f"{errs['mae_clean']:.2f} degrees in the clean range and "
                                            f"{errs['mae_corrupted']:.2f} in the corrupted one."}})
plt.close(fig)

# %% [markdown]
# ## Record

# %%
result = regression.result(errs, by_angle, report, history, net, parts, ds.source, dev,
                           wall_time_s=time.perf_counter() - t_start)
path = records.save_run(run["results_dir"], "regression", run, result)
print(f"p {run['p']}, sigma {run['sigma']:g}, seed {run['seed']}: clean MAE {errs['mae_clean']:.2f}°, "
      f"corrupted {errs['mae_corrupted']:.2f}°, boundary {errs['mae_boundary']:.2f}° → {path.name}")
