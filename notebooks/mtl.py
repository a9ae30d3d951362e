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
# backbone on Task1 alone, for as many steps: the single-task baseline. For example
# `papermill notebooks/mtl.ipynb out.ipynb -p p 0.9`.
#
# The `real` profile runs the same protocol on real images on a CPU: MNIST's ten digits split at
# random into two 5-class tasks, a LeNet-5 trunk with Mish and two heads, and Task1 given only 5
# training images per class against Task2's 1,000, so that Task1 has something to gain from Task2
# (`papermill notebooks/mtl.ipynb out.ipynb -p profile real -p p 0.9`, about half a minute).

# %% tags=["parameters"]
profile = "paper"  # paper, real or smoke: sets the default data set, trunk, width, task sizes and recipe (hetnoise.settings)
dataset = None  # None: the data set of the profile (paper: cifar100, real: mnist, smoke: digits)
mode = "mtl"  # mtl (both tasks, two heads) or stl (Task1 alone, the baseline)
model = None  # None: the profile's trunk (paper, smoke: resnet18; real: lenet5), with Mish activations
p = 0.5  # corruption probability of the Task2 training labels
width = None  # None: the profile width (paper: 2, real: 1, smoke: 0.25) times the trunk's standard channels
task1_per_class = None  # training images per Task1 class, 0 for all; None: the profile value (real: 5, others: 0)
task2_per_class = None  # training images per Task2 class, 0 for all; None: the profile value (real: 1000, others: 0)
seed = 0  # noise, initial weights and batch order
split_seed = 0  # which random split of the classes into two tasks (the paper uses three), and the 9:1 split
epochs = None  # None: the profile's recipe; so for batch_size, optimizer, lr, weight_decay, schedule, augment
batch_size = None
optimizer = None
lr = None
weight_decay = None  # the paper profile runs 5e-4 and 5e-5 (§6)
schedule = None
augment = None
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/mtl/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: computed from the parameters; else checked against them

# %%
from hetnoise import settings, spec

run = settings.from_namespace("mtl", globals())

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from hetnoise import data, metrics, models, mtl, noise, plots, records, train

t_start = time.perf_counter()
plots.style()
recipe = spec.recipe(run)
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"])
dev = train.pick_device(run["device"])
task1_classes, task2_classes = mtl.split_tasks(ds.num_classes, run["split_seed"])
print(f"{run['dataset']}: {ds.num_classes} classes → Task1 {len(task1_classes)}, Task2 {len(task2_classes)} "
      f"(split {run['split_seed']}); mode {run['mode']}; {recipe}; device {dev}")

# %% [markdown]
# ## Tasks and Task2's noisy labels

# %%
task1 = mtl.subsample(mtl.task_data(ds, task1_classes, run["split_seed"]), run["task1_per_class"], run["split_seed"])
task2 = mtl.subsample(mtl.task_data(ds, task2_classes, run["split_seed"]), run["task2_per_class"], run["split_seed"])
y2_true = task2.y_train.numpy()
y2_noisy, report = noise.corrupt_classes(y2_true, run["p"], clean=[], num_classes=task2.num_classes,
                                         strategy="exclude", seed=run["seed"])
task2.y_train = torch.from_numpy(y2_noisy)
tasks = [task1, task2] if run["mode"] == "mtl" else [task1]
print(f"Task1 classes {task1_classes}: {len(task1.x_train)} training images\n"
      f"Task2 classes {task2_classes}: {len(task2.x_train)} training images")
print(f"Task2: {report.changed.sum()} of {len(y2_true)} training labels changed "
      f"(realised rate {report.changed.mean():.3f}, intended {run['p']}); Task1 labels untouched")

# %% [markdown]
# ## Training

# %%
net = mtl.build_model([t.num_classes for t in tasks], run["width"], "mish", ds.x_train.shape[1], seed=run["seed"],
                      trunk=run["model"])
step_s = mtl.seconds_per_step(net, tasks, recipe, mean=ds.mean, std=ds.std, device=run["device"])
# An epoch is one pass over the larger task in both modes, so STL gives Task1 as many steps as MTL does.
steps_per_epoch = max(1, max(len(task1.x_train), len(task2.x_train)) // recipe.batch_size)
total_steps = recipe.epochs * steps_per_epoch
print(f"{models.count_parameters(net):,} parameters; measured {step_s * 1000:.0f} ms per step on {dev} → "
      f"expect about {step_s * total_steps / 60:.1f} minutes for {total_steps} steps (plus evaluation)")
history = mtl.fit_mtl(net, tasks, recipe, mean=ds.mean, std=ds.std, device=run["device"], seed=run["seed"],
                      steps_per_epoch=steps_per_epoch, label=f"[{run['run_id']}]")
print(f"best Task1 validation loss at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, axes = plt.subplots(1, 2, figsize=(5.8, 3))
for t in range(len(tasks)):
    colour = plots.CLEAN if t == 0 else plots.CORRUPT
    axes[0].plot(curves.epoch, curves[f"task{t + 1}_train_loss"], color=colour, ls="--", marker="o", ms=3,
                 label=f"Task{t + 1} train")
    axes[0].plot(curves.epoch, curves[f"task{t + 1}_val_loss"], color=colour, marker="o", ms=3,
                 label=f"Task{t + 1} validation")
    axes[1].plot(curves.epoch, curves[f"task{t + 1}_val_acc"], color=colour, marker="o", ms=3, label=f"Task{t + 1}")
axes[0].set(xlabel="epoch", ylabel="cross-entropy")
axes[1].set(xlabel="epoch", ylabel="validation accuracy")
for ax in axes:
    ax.axvline(history.best_epoch, color="grey", ls=":")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
handles, names = axes[0].get_legend_handles_labels()
fig.legend(handles, names, loc="outside lower center", ncol=len(tasks) * 2, frameon=False)
display(fig, metadata={"image/png": {"alt": f"Training and validation loss and validation accuracy (true labels) of "
                                            f"{' and '.join(f'Task{t + 1}' for t in range(len(tasks)))} per epoch; "
                                            f"lowest Task1 validation loss at epoch {history.best_epoch}."}})
plt.close(fig)

# %% [markdown]
# ## Test accuracy per task

# %%
acc, per_class = {}, {}
for t, task in enumerate(tasks):
    pred = train.predict(net, task.x_test, ds.mean, ds.std, task=t).argmax(1).numpy()
    per_class[t] = metrics.per_class_accuracy(task.y_test.numpy(), pred, task.num_classes)
    acc[t] = float((pred == task.y_test.numpy()).mean())
fig, ax = plt.subplots(figsize=(5.8, 3))
for t in per_class:
    ax.plot(np.sort(per_class[t]), marker="o", ms=3, color=plots.CLEAN if t == 0 else plots.CORRUPT,
            label=f"Task{t + 1}: {acc[t]:.3f}")
ax.set(xlabel="class (sorted by accuracy)", ylabel="test accuracy", ylim=(0, 1.02),
       title=f"{run['mode'].upper()}, p = {run['p']}")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend(loc="lower right")
display(fig, metadata={"image/png": {"alt": f"Test accuracy of each class, sorted, {run['mode'].upper()} at p = "
                                            f"{run['p']}: " + ", ".join(f"Task{t + 1} {acc[t]:.3f} overall" for t in acc)
                                            + "."}})
plt.close(fig)

# %%
result = dict(task1_acc=acc[0], task2_acc=acc.get(1), task1_per_class_acc=per_class[0].tolist(),
              task2_per_class_acc=per_class[1].tolist() if 1 in per_class else None,
              task1_classes=task1_classes, task2_classes=task2_classes,
              task2_noise=report.to_dict() if run["mode"] == "mtl" else None,
              task1_labels_sha256=mtl.labels_digest(task1.y_train), task2_labels_sha256=mtl.labels_digest(task2.y_train),
              task1_train_size=len(task1.x_train), task2_train_size=len(task2.x_train), steps_per_epoch=steps_per_epoch,
              history=history.to_dict(), best_epoch=history.best_epoch, n_params=models.count_parameters(net),
              seconds_per_step=step_s, device=str(dev), data_source=ds.source,
              wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(run["results_dir"], "mtl", run, result)
print(f"record written to {record_path.name}")
