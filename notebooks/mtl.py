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
# # Multi-task study: does noise in a helping task erase transfer?
#
# One run of the paper's multi-task protocol (Khanal & Kanan, §3.2, §4.2, §5.2). CIFAR-100's classes
# are split at random (by `split_seed`) into two 50-class tasks. A 2×-wide ResNet18 with Mish
# activations is shared by both tasks, with one linear head each; every training step takes a batch
# of Task1 and a batch of Task2, sums the two cross-entropies and back-propagates once. Only Task2's
# training labels are corrupted, within Task2, with probability `p`; Task1 is never touched. The
# checkpoint kept is the one with the lowest Task1 validation loss. `mode="stl"` trains the same
# backbone on Task1 alone: the single-task baseline. For example
# `papermill notebooks/mtl.ipynb out.ipynb -p p 0.9`.

# %% tags=["parameters"]
p = 0.5  # corruption probability of the Task2 training labels
mode = "mtl"  # mtl (both tasks, two heads) or stl (Task1 alone, the baseline)
split_seed = 0  # which random split of the classes into two tasks (the paper uses three)
seed = 0  # noise, initialisation and batch order
weight_decay = -1.0  # negative: the recipe value (5e-4); the paper profile also runs 5e-5
width = 0.0  # 0: the profile width (paper: 2, smoke: 0.25) times the standard ResNet18 channels
epochs = 0  # 0: the number of epochs of the recipe
profile = "paper"  # paper or smoke: sets the default data set, width and training recipe
dataset = ""  # empty: the data set of the profile (paper: cifar100, smoke: digits)
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/mtl/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: a hash of the parameters

# %%
import time
from dataclasses import asdict, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from hetnoise import data, metrics, models, mtl, noise, plots, records, train

t_start = time.perf_counter()
plots.style()
if profile not in mtl.RECIPES:
    raise ValueError(f"profile={profile!r} has no multi-task recipe; choose one of {sorted(mtl.RECIPES)}")
if not 0 <= p <= 1:
    raise ValueError(f"p={p} must lie in [0, 1]")
if mode not in ("mtl", "stl"):
    raise ValueError(f"mode={mode!r} is unknown; choose 'mtl' or 'stl'")
dataset = dataset or mtl.DATASET[profile]
width = float(width or mtl.WIDTH[profile])
recipe = mtl.RECIPES[profile]
recipe = replace(recipe, epochs=int(epochs) or recipe.epochs,
                 weight_decay=recipe.weight_decay if weight_decay < 0 else float(weight_decay))
ds = data.load(dataset, data_root or None, download=download)
dev = train.pick_device(device)
task1_classes, task2_classes = mtl.split_tasks(ds.num_classes, split_seed)
print(f"{dataset}: {ds.num_classes} classes → Task1 {len(task1_classes)}, Task2 {len(task2_classes)} "
      f"(split {split_seed}); mode {mode}; {recipe}; device {dev}")

# %% [markdown]
# ## Tasks and Task2's noisy labels

# %%
task1 = mtl.task_data(ds, task1_classes, split_seed)
task2 = mtl.task_data(ds, task2_classes, split_seed)
y2_true = task2.y_train.numpy()
y2_noisy, report = noise.corrupt_classes(y2_true, p, clean=[], num_classes=task2.num_classes,
                                         strategy="exclude", seed=seed)
task2.y_train = torch.from_numpy(y2_noisy)
tasks = [task1, task2] if mode == "mtl" else [task1]
print(f"Task1 classes {task1_classes}\nTask2 classes {task2_classes}")
print(f"Task2: {report.changed.sum()} of {len(y2_true)} training labels changed "
      f"(realised rate {report.changed.mean():.3f}, intended {p}); Task1 labels untouched")

# %% [markdown]
# ## Training

# %%
net = mtl.build_model([t.num_classes for t in tasks], width, "mish", ds.x_train.shape[1], seed=seed)
step_s = mtl.seconds_per_step(net, tasks, recipe, mean=ds.mean, std=ds.std, device=device)
total_steps = recipe.epochs * max(1, len(task1.x_train) // recipe.batch_size)
print(f"{models.count_parameters(net):,} parameters; measured {step_s * 1000:.0f} ms per step on {dev} → "
      f"expect about {step_s * total_steps / 60:.1f} minutes for {total_steps} steps (plus evaluation)")
history = mtl.fit_mtl(net, tasks, recipe, mean=ds.mean, std=ds.std, device=device, seed=seed)
print(f"best Task1 validation loss at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for t in range(len(tasks)):
    colour = plots.CLEAN if t == 0 else plots.CORRUPT
    axes[0].plot(curves.epoch, curves[f"task{t + 1}_train_loss"], color=colour, ls="--", label=f"Task{t + 1} train")
    axes[0].plot(curves.epoch, curves[f"task{t + 1}_val_loss"], color=colour, label=f"Task{t + 1} validation")
    axes[1].plot(curves.epoch, curves[f"task{t + 1}_val_acc"], color=colour, label=f"Task{t + 1}")
axes[0].set(xlabel="epoch", ylabel="cross-entropy")
axes[1].set(xlabel="epoch", ylabel="validation accuracy (true labels)")
for ax in axes:
    ax.axvline(history.best_epoch, color="grey", ls=":")
    ax.legend()
plt.show()

# %% [markdown]
# ## Test accuracy per task

# %%
acc, per_class = {}, {}
for t, task in enumerate(tasks):
    pred = train.predict(net, task.x_test, ds.mean, ds.std, task=t).argmax(1).numpy()
    per_class[t] = metrics.per_class_accuracy(task.y_test.numpy(), pred, task.num_classes)
    acc[t] = float((pred == task.y_test.numpy()).mean())
fig, ax = plt.subplots(figsize=(6, 3))
for t in per_class:
    ax.plot(np.sort(per_class[t]), marker="o", ms=3, color=plots.CLEAN if t == 0 else plots.CORRUPT,
            label=f"Task{t + 1}: {acc[t]:.3f}")
ax.set(xlabel="class (sorted by accuracy)", ylabel="test accuracy", ylim=(0, 1.02),
       title=f"{mode.upper()}, p = {p}")
ax.legend()
plt.show()

# %%
params = dict(dataset=dataset, p=float(p), mode=mode, split_seed=int(split_seed), seed=int(seed),
              weight_decay=recipe.weight_decay, width=width, epochs=recipe.epochs, profile=profile)
result = dict(task1_acc=acc[0], task2_acc=acc.get(1), task1_per_class_acc=per_class[0].tolist(),
              task2_per_class_acc=per_class[1].tolist() if 1 in per_class else None,
              task1_classes=task1_classes, task2_classes=task2_classes,
              task2_noise=report.to_dict() if mode == "mtl" else None,
              task1_labels_sha256=mtl.labels_digest(task1.y_train), task2_labels_sha256=mtl.labels_digest(task2.y_train),
              history=history.to_dict(),
              best_epoch=history.best_epoch, recipe=asdict(recipe), n_params=models.count_parameters(net),
              seconds_per_step=step_s, device=str(dev), data_source=ds.source,
              wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(results_dir, "mtl", params, result, run_id=run_id)
print(f"record written to {record_path}")
