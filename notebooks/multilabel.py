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
# one to two minutes on two CPU cores) or `... -p p 0.9 -p profile smoke` (offline, seconds).

# %% tags=["parameters"]
profile = "paper"  # paper, real, real-pilot or smoke: the data set default, width, image size and recipe
dataset = None  # None: the data set of the profile (paper: mini-coco, real: mnist-fashion-mosaics,
# smoke: digit-mosaics)
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
data_root = ""  # empty: HETNOISE_DATA, the folder of the MNIST and Fashion-MNIST IDX files and the mini-COCO cache
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
# weights). `real`: 8 epochs of AdamW (learning rate 2e-3 with a per-step cosine decay, weight decay
# 1e-4, batch 64, no augmentation) for a quarter-width ResNet18 on the 56×56 MNIST + Fashion-MNIST
# mosaics; the number of epochs was chosen by the pilot `real-pilot` (the same recipe at p = 0 for 2,
# 4, 8 and 16 epochs): the smallest number whose doubling adds under a point of overall test mAP.
# `smoke`: a few epochs of AdamW for a quarter-width ResNet18 on 64×64 digit mosaics, only to
# exercise the pipeline on a CPU.
# The network is ResNet18 with an 80-way (or one-per-label) linear layer on the pooled features;
# with `stem="imagenet"` it is torchvision's ResNet18 layout (the one the paper's remark on ImageNet
# weights implies), which brings 128×128 inputs to 32×32 before the residual stages.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from hetnoise import data, models, multilabel, plots, records, train

t_start = time.perf_counter()
plots.style()

recipe = spec.recipe(run)
coco_option = {"coco_root": run["coco_root"]} if run["coco_root"] else {}  # mini-coco only
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"], size=run["image_size"],
               **coco_option)
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
groups = multilabel.label_group_names(num_labels, corrupted)

y_all = np.asarray(ds.y_train, dtype=np.uint8)
train_idx, val_idx = data.train_val_split(ds, 0.1, run["split_seed"])
y_true = y_all[train_idx]
y_noisy, report = multilabel.corrupt_training(y_true, run["p"], corrupted, clean, run["mode"], run["seed"])
realised = multilabel.realised_rate(report, run["mode"])
noise_table = multilabel.noise_table(y_true, report, ds.classes, run["p"], corrupted, run["mode"])
print(multilabel.noise_summary(report, run["mode"], len(train_idx)))
noise_table.round(3)

# %%
fig, alt = multilabel.noise_figure(noise_table, run["mode"], run["p"], corrupted)
display(fig, metadata={"image/png": {"alt": alt}})
plt.close(fig)

# %% [markdown]
# ## Training
# Binary cross-entropy on the (noisy) multi-hot targets; the checkpoint of the epoch with the lowest
# validation loss (true labels) is kept.

# %%
net = multilabel.build_model(run, num_labels, in_channels=ds.x_train.shape[1])
history = train.fit(net, ds.x_train[train_idx], torch.from_numpy(y_noisy), ds.x_train[val_idx],
                    torch.from_numpy(y_all[val_idx]), recipe, mean=ds.mean, std=ds.std, device=run["device"],
                    seed=run["seed"], loss="bce", label=f"[{run['run_id']}]")
print(f"{models.count_parameters(net):,} parameters; best validation loss at epoch {history.best_epoch}")

# %%
fig, alt = multilabel.loss_figure(history)
display(fig, metadata={"image/png": {"alt": alt}})
plt.close(fig)

# %% [markdown]
# ## Test average precision per label
# AP of each label from the sigmoid scores (scikit-learn's definition), averaged over the labels of a
# group that have test positives. Thresholded predictions (score ≥ 0.5) give the per-label F1 and the
# exact-match ratio, reported beside it.

# %%
y_test = np.asarray(ds.y_test, dtype=np.uint8)
scores = multilabel.predict_scores(net, ds)
evaluation = multilabel.evaluate(y_test, scores, clean, corrupted)
fig, alt = multilabel.ap_figure(evaluation, groups, run["case"], run["p"])
display(fig, metadata={"image/png": {"alt": alt}})
plt.close(fig)
multilabel.group_table(evaluation, clean, corrupted)

# %%
result = multilabel.result(evaluation, clean, corrupted, ds, report, realised, history,
                           n_params=models.count_parameters(net), n_train=len(train_idx), n_val=len(val_idx),
                           device=str(dev), arrays_saved=bool(run["save_scores"]),
                           wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(run["results_dir"], "multilabel", run, result)
if run["save_scores"]:  # test scores and the training labels, for independent checks of the mAP and the noise
    arrays_path = records.save_arrays(record_path.with_suffix(".npz"), y_test=y_test, scores_test=scores,
                                      train_idx=np.asarray(train_idx), val_idx=np.asarray(val_idx),
                                      y_train_true=y_true, y_train_noisy=y_noisy)
    print(f"scores and labels written to {arrays_path.name}")
print(f"record written to {record_path.name}")
