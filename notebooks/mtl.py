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
# The `label-transfer` profile makes Task2 from Task1's own ten digits on other images, turned by 90°
# (`task2_design`), so that what Task2's labels teach is what Task1 needs.

# %% tags=["parameters"]
profile = "paper"  # paper, real or smoke: sets the default data set, trunk, width, task sizes and recipe
# (hetnoise.settings)
dataset = None  # None: the data set of the profile (paper: cifar100, real: mnist, smoke: digits)
mode = "mtl"  # mtl (both tasks, two heads) or stl (Task1 alone, the baseline)
model = None  # None: the profile's trunk (paper, smoke: resnet18; real: lenet5), with Mish activations
p = 0.5  # corruption probability of the Task2 training labels
width = None  # None: the profile width (paper: 2, real: 1, smoke: 0.25) times the trunk's standard channels
task1_per_class = None  # training images per Task1 class, 0 for all; None: the profile value (real: 5, others: 0)
task2_per_class = None  # training images per Task2 class, 0 for all; None: the profile value (real: 1000, others: 0)
task2_design = None  # other-classes (the paper's), same-classes or same-classes-rotated; None: the profile's
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
from IPython.display import display

from hetnoise import data, models, mtl, plots, records, train

t_start = time.perf_counter()
plots.style()
recipe = spec.recipe(run)
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"])
dev = train.pick_device(run["device"])

# %% [markdown]
# ## Tasks and Task2's noisy labels

# %%
task1, task2 = mtl.make_tasks(ds, run["split_seed"], run["task1_per_class"], run["task2_per_class"],
                              run["task2_design"])
task2, task2_noise = mtl.corrupt_task2(task2, run["p"], run["seed"])
tasks = mtl.trained_tasks(run["mode"], task1, task2)
print(f"{run['dataset']}: {ds.num_classes} classes → Task1 {task1.num_classes}, Task2 {task2.num_classes} "
      f"({run['task2_design']}, split {run['split_seed']}); mode {run['mode']}; {recipe}; device {dev}")
print(f"Task1 classes {task1.classes}: {len(task1.x_train)} training images\n"
      f"Task2 classes {task2.classes}: {len(task2.x_train)} training images")
print(f"Task2: {task2_noise.changed.sum()} of {len(task2_noise.changed)} training labels changed "
      f"(realised rate {task2_noise.changed.mean():.3f}, intended {run['p']}); Task1 labels untouched")

# %% [markdown]
# ## Training

# %%
net = mtl.build_model([t.num_classes for t in tasks], run["width"], "mish", ds.x_train.shape[1], seed=run["seed"],
                      trunk=run["model"])
step_s = mtl.seconds_per_step(net, tasks, recipe, mean=ds.mean, std=ds.std, device=run["device"])
steps_per_epoch = mtl.steps_per_epoch(task1, task2, recipe.batch_size)
print(f"{models.count_parameters(net):,} parameters; measured {step_s * 1000:.0f} ms per step on {dev} → "
      f"expect about {step_s * recipe.epochs * steps_per_epoch / 60:.1f} minutes for "
      f"{recipe.epochs * steps_per_epoch} steps (plus evaluation)")
history = mtl.fit_mtl(net, tasks, recipe, mean=ds.mean, std=ds.std, device=run["device"], seed=run["seed"],
                      steps_per_epoch=steps_per_epoch, label=f"[{run['run_id']}]")
print(f"best Task1 validation loss at epoch {history.best_epoch}")

# %%
fig, alt = mtl.curves_figure(history, len(tasks))
display(fig, metadata={"image/png": {"alt": alt}})
plt.close(fig)

# %% [markdown]
# ## Test accuracy per task

# %%
scores = mtl.evaluate_tasks(net, tasks, ds.mean, ds.std)
fig, alt = mtl.per_class_figure(scores, run["mode"], run["p"])
display(fig, metadata={"image/png": {"alt": alt}})
plt.close(fig)

# %%
result = mtl.result(run["mode"], task1, task2, task2_noise, history, scores, steps_per_epoch=steps_per_epoch,
                    n_params=models.count_parameters(net), seconds_per_step=step_s, device=str(dev),
                    data_source=ds.source, wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(run["results_dir"], "mtl", run, result)
print(f"record written to {record_path.name}")
