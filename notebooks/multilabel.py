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
# # Multi-label study: does noise in one group of labels hurt the other?
#
# One run of the paper's multi-label protocol (Khanal & Kanan, §3.3, §4.3, §5.3): a ResNet18 with one
# sigmoid output per label is trained from scratch with binary cross-entropy on mini MS-COCO (80
# labels, 128×128 images). The labels are split into two groups; in the training split only the
# labels of the *corrupted* group are changed with probability `p`, the *clean* group is never
# touched. We then measure test mean average precision (mAP) of each group and overall.
#
# * **case 1**: labels 1–50 corrupted, 51–80 clean (0-based `range(0, 50)` vs `range(50, 80)`);
# * **case 2**: the reverse, labels 51–80 corrupted, 1–50 clean.
#
# On a set with another number of labels the cut is at 5/8 of the labels, rounded: for the 10-label
# digit-mosaic smoke set, case 1 corrupts labels 0–5 and keeps 6–9 clean, case 2 the reverse.
#
# Profile `real` runs the same protocol on real images on a CPU: `mnist-fashion-mosaics`, 56×56 grey
# 2×2 mosaics whose quadrants each hold (with probability 0.75, at least one per image) a real MNIST
# digit or Fashion-MNIST garment; 20 labels, the digits "0"–"9" then the 10 garments (8,000 training
# mosaics composed from the training images only, 2,000 test mosaics from the test images only, a
# fixed seed). The cut is 12/8: case 1 corrupts labels 0–11 (all digits, T-shirt/top and Trouser) and
# keeps the other 8 garments clean, case 2 the reverse.
#
# `mode="swap"` is the paper's corruption: with probability `p` a positive label of the corrupted
# group moves to a label of the same group the image does not carry ("randomly changing the true
# labels to other labels within the category"). `mode="flip"` instead flips every bit of the group
# independently with probability `p`. Run it with papermill, for example
# `papermill notebooks/multilabel.ipynb out.ipynb -p p 0.9 -p case 2` (needs the mini-COCO cache or
# `$HETNOISE_COCO`), `... -p p 0.9 -p profile real` (MNIST and Fashion-MNIST under `$HETNOISE_DATA`;
# about half a minute on one CPU core) or `... -p p 0.9 -p profile smoke` (offline, seconds).

# %% tags=["parameters"]
profile = "paper"  # paper, real or smoke: sets the data set default, width, image size and recipe (hetnoise.settings)
dataset = None  # None: the data set of the profile (paper: mini-coco, real: mnist-fashion-mosaics, smoke: digit-mosaics)
case = 1  # 1: the first 5/8 of the labels (COCO 1-50, mosaics 0-11) corrupted; 2: the last 3/8 corrupted
mode = "swap"  # swap (the paper: move a positive within the group) or flip (flip each bit)
p = 0.5  # corruption probability of the corrupted label group
width = None  # None: the profile width (paper: 1, real and smoke: 0.25) times the standard ResNet18 channels
stem = "imagenet"  # imagenet (7x7/2 conv and max-pool, as torchvision ResNet18) or cifar (3x3/1)
image_size = None  # None: the profile's (paper: 128, real: 56, smoke: 64)
seed = 0  # noise, initial weights and batch order
split_seed = 0  # the seeded 9:1 train/validation split
epochs = None  # None: the profile's recipe; so for batch_size, optimizer, lr, weight_decay, schedule, augment
batch_size = None
optimizer = None
lr = None
weight_decay = None
schedule = None
augment = None
coco_root = ""  # empty: HETNOISE_COCO, the MS-COCO root the mini-COCO cache is built from when missing
data_root = ""  # empty: HETNOISE_DATA, where mnist-fashion-mosaics finds the MNIST and Fashion-MNIST IDX files
download = True  # mnist-fashion-mosaics: download MNIST / Fashion-MNIST with torchvision when missing
save_scores = True  # also write the test scores and training labels as run_id.npz beside the record
results_dir = "results"  # the record goes to results_dir/multilabel/profile/run_id.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: computed from the parameters; else checked against them

# %%
from hetnoise import settings, spec

run = settings.from_namespace("multilabel", globals())

# %% [markdown]
# ## Set-up and training recipe
# The paper gives no optimiser, schedule or number of epochs for this study; the recipes below are
# ours. `paper`: SGD with Nesterov momentum 0.9, learning rate 0.1 with a per-step cosine decay to
# zero, weight decay 5e-4, batch 128, random 4-pixel-shift crops and horizontal flips (both keep every
# label true), 40 epochs, from random initialisation (the paper deliberately uses no pretrained
# weights). `real`: 2 epochs of AdamW (learning rate 2e-3 with a per-step cosine decay, weight decay
# 1e-4, batch 64, no augmentation) for a quarter-width ResNet18 on the 56×56 MNIST + Fashion-MNIST
# mosaics, chosen by a short pilot to fit the whole grid in under an hour of one CPU core.
# `smoke`: a few epochs of AdamW for a quarter-width ResNet18 on 64×64 digit mosaics, only to
# exercise the pipeline on a CPU.
# The network is ResNet18 with an 80-way (or one-per-label) linear layer on the pooled features;
# with `stem="imagenet"` it is torchvision's ResNet18 layout (the one the paper's remark on ImageNet
# weights implies), which brings 128×128 inputs to 32×32 before the residual stages.

# %%
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from hetnoise import coco, metrics, models, multilabel, noise, plots, records, train

t_start = time.perf_counter()
plots.style()

recipe = spec.recipe(run)
ds = coco.load_multilabel(run["dataset"], run["coco_root"] or None, size=run["image_size"],
                          data_root=run["data_root"] or None, download=run["download"])
num_labels = ds.y_train.shape[1]
dev = train.pick_device(run["device"])
print(f"{run['dataset']}: {len(ds.x_train)} training and {len(ds.x_test)} test images of "
      f"{tuple(ds.x_train.shape[1:])}, {num_labels} labels ("
      f"{' + '.join(Path(s).name for s in ds.source.split(' + ')) if run['dataset'] == 'mini-coco' else ds.source})")
print(f"ResNet18 ({run['stem']} stem, width {run['width']}), {recipe}, device {dev}")

# %% [markdown]
# ## Label groups and noisy labels
# Only the training part of the 9:1 split is corrupted; the validation part, used to pick the
# checkpoint, and the test set keep their true labels (as in the multi-class study).

# %%
corrupted, clean = multilabel.label_groups(num_labels, run["case"])  # COCO: 1-50 / 51-80; mosaics: 0-11 / 12-19
group_of = np.array(["corrupted" if j in corrupted else "clean" for j in range(num_labels)])

y_all = np.asarray(ds.y_train, dtype=np.uint8)
train_idx, val_idx = coco.split_train_val(len(y_all), 0.1, run["split_seed"])
y_true = y_all[train_idx]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # the report keeps these findings in report.warnings, shown below
    y_noisy, report = noise.corrupt_multilabel(y_true, run["p"], corrupted, mode=run["mode"], seed=run["seed"])
assert (y_noisy[:, clean] == y_true[:, clean]).all(), "the clean group was changed"
noise_rep = report.to_dict()
# swap: each positive of the group is chosen with probability p and moved to a free label of the group,
# so "intended" vs "realised" is the share of a label's positives moved out; flip: the share of its
# bits flipped. Swap also turns free labels on, so the share of rows whose bit changed is shown too,
# beside its exact expectation (`noise.expected_change_rate`).
realised = report.moved_out_rate if run["mode"] == "swap" else report.realised_rate
noise_table = pd.DataFrame({"label": ds.label_names, "group": group_of, "intended": report.intended_rate,
                            "realised": realised, "bits changed: expected":
                            noise.expected_change_rate(y_true, run["p"], corrupted, mode=run["mode"]),
                            "bits changed: realised": report.realised_rate,
                            "positives before": report.positives_before,
                            "positives after": report.positives_after})
print(f"{len(train_idx)} training rows, {report.rows_affected} with a changed label; "
      f"{report.n_no_free_label} of {report.n_selected} chosen {'positives' if run['mode'] == 'swap' else 'bits'} "
      "found no free label of the group and stayed")
if report.warnings and run["mode"] == "swap":
    print(f"The noise report notes {len(report.warnings)} departure(s) from p: expected with swap, where a chosen "
          "positive with no free label in its row stays, so fewer than p of a label's positives move out; "
          "'bits changed: expected' is the exact rate that allows for it.")
elif report.warnings:
    print("The noise report notes departures from p:\n" + "\n".join(report.warnings))
noise_table.round(3)

# %%
xs = np.arange(num_labels)
colours = [plots.CLEAN if g == "clean" else plots.CORRUPT for g in group_of]
groups = [plt.Rectangle((0, 0), 1, 1, color=plots.CLEAN, label="clean group, realised"),
          plt.Rectangle((0, 0), 1, 1, color=plots.CORRUPT, label="corrupted group, realised")]
fig, axes = plt.subplots(2, 1, figsize=(5.8, 4.6), sharex=True)
for ax, bars, line, ylabel, target in (
        (axes[0], realised, noise_table.intended, "positives moved out" if run["mode"] == "swap" else "bits flipped",
         "intended"),
        (axes[1], report.realised_rate, noise_table["bits changed: expected"], "rows whose bit changed", "expected")):
    ax.bar(xs, np.nan_to_num(np.asarray(bars, dtype=float)), color=colours, width=0.8)
    mark, = ax.plot(xs, line, ls="none", marker="_", ms=9, mew=2, color=plots.PAPER, label=target)
    ax.set(ylabel=ylabel, ylim=(0, 1.05), xlim=(-0.8, num_labels - 0.2))
    ax.legend(handles=[mark], loc="upper right")
axes[0].set_title(f"Realised noise per label, {run['mode']}, p = {run['p']}")
axes[1].set_xlabel("label")
axes[1].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
fig.legend(handles=groups, loc="outside lower center", ncol=2, frameon=False)
display(fig, metadata={"image/png": {"alt": f"Bar charts per label, {run['mode']} at p = {run['p']}: share of "
                                            f"positives moved out against the intended p, and share of rows whose "
                                            f"bit changed against its exact expectation; labels "
                                            f"{min(corrupted)}–{max(corrupted)} are the corrupted group."}})
plt.close(fig)

# %% [markdown]
# ## Training
# Binary cross-entropy on the (noisy) multi-hot targets; the checkpoint of the epoch with the lowest
# validation loss (true labels) is kept.

# %%
with models.seeded(run["seed"]):
    net = models.resnet18(num_labels, width=run["width"], in_channels=ds.x_train.shape[1], stem=run["stem"])
history = train.fit(net, ds.x_train[train_idx], torch.from_numpy(y_noisy), ds.x_train[val_idx],
                    torch.from_numpy(y_all[val_idx]), recipe, mean=ds.mean, std=ds.std, device=run["device"],
                    seed=run["seed"], loss="bce", label=f"[{run['run_id']}]")
print(f"{models.count_parameters(net):,} parameters; best validation loss at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, ax = plt.subplots(figsize=(4.5, 3))
curves.plot(x="epoch", y=["train_loss", "val_loss"], ax=ax, ylabel="binary cross-entropy", marker="o", ms=3)
ax.axvline(history.best_epoch, color="grey", ls=":")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.set_title("train: noisy labels; validation: true labels")
display(fig, metadata={"image/png": {"alt": f"Training and validation loss per epoch; lowest validation loss at "
                                            f"epoch {history.best_epoch}."}})
plt.close(fig)

# %% [markdown]
# ## Test average precision per label
# AP of each label from the sigmoid scores (scikit-learn's definition), averaged over the labels of a
# group that have test positives. Thresholded predictions (score ≥ 0.5) give the per-label F1 and the
# exact-match ratio, reported beside it.

# %%
y_test = np.asarray(ds.y_test, dtype=np.uint8)
scores = torch.sigmoid(train.predict(net, ds.x_test, ds.mean, ds.std)).numpy()
ap = metrics.average_precision(y_test, scores)
map_clean, map_corrupted, map_overall = (metrics.mean_ap(ap, clean), metrics.mean_ap(ap, corrupted),
                                         metrics.mean_ap(ap))
f1, exact_match = metrics.f1_at(y_test, scores), metrics.exact_match(y_test, scores)
fig, ax = plt.subplots(figsize=(5.8, 3.4))
ax.bar(xs, np.nan_to_num(ap), color=colours, width=0.8)
for value, colour, name in ((map_clean, plots.CLEAN, "clean"), (map_corrupted, plots.CORRUPT, "corrupted"),
                            (map_overall, plots.OVERALL, "overall")):
    ax.axhline(value, color=colour, ls="--", lw=1, label=f"{name} mAP {100 * value:.1f} %")
ax.set(xlabel="label", ylabel="test AP", ylim=(0, 1.02), xlim=(-0.8, num_labels - 0.2),
       title=f"case {run['case']}, p = {run['p']}: test AP per label")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend(loc="upper right")
fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c, label=f"{g} group AP") for c, g in
                    ((plots.CLEAN, "clean"), (plots.CORRUPT, "corrupted"))],
           loc="outside lower center", ncol=2, frameon=False)
display(fig, metadata={"image/png": {"alt": f"Bar chart of test average precision per label, case {run['case']} at "
                                            f"p = {run['p']}: mAP {100 * map_clean:.1f} % for the clean group, "
                                            f"{100 * map_corrupted:.1f} % for the corrupted group, "
                                            f"{100 * map_overall:.1f} % overall."}})
plt.close(fig)
pd.DataFrame({"group": ["clean", "corrupted", "overall"],
              "mAP %": [100 * map_clean, 100 * map_corrupted, 100 * map_overall],
              "mean F1 @0.5": [np.nanmean(f1[clean]), np.nanmean(f1[corrupted]), np.nanmean(f1)]}).round(2)

# %%
result = dict(map_clean=map_clean, map_corrupted=map_corrupted, map_overall=map_overall,
              per_label_ap=[None if np.isnan(a) else float(a) for a in ap],
              per_label_f1=[None if np.isnan(a) else float(a) for a in f1], exact_match=exact_match,
              clean_labels=clean, corrupted_labels=corrupted, label_names=list(ds.label_names),
              test_positives=y_test.sum(0).astype(int).tolist(), noise=noise_rep,
              realised_noise=[None if np.isnan(r) else float(r) for r in np.asarray(realised, dtype=float)],
              history=history.to_dict(), best_epoch=history.best_epoch, image_size=int(ds.x_train.shape[-1]),
              n_params=models.count_parameters(net), n_train=len(train_idx), n_val=len(val_idx), n_test=len(y_test),
              data_source=ds.source, device=str(dev), arrays_saved=bool(run["save_scores"]),
              wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(run["results_dir"], "multilabel", run, result)
if run["save_scores"]:  # test scores and the training labels, for independent checks of the mAP and the noise
    arrays_path = records.save_arrays(record_path.with_suffix(".npz"), y_test=y_test, scores_test=scores,
                                      train_idx=np.asarray(train_idx), val_idx=np.asarray(val_idx),
                                      y_train_true=y_true, y_train_noisy=y_noisy)
    print(f"scores and labels written to {arrays_path.name}")
print(f"record written to {record_path.name}")
