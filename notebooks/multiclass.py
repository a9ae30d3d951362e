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
# # Multi-class study: does noise in nine classes hurt the tenth?
#
# One run of the paper's multi-class protocol (Khanal & Kanan, §3.1, §4.1): the labels of nine of the
# ten classes in the training split are corrupted with probability `p`; the `clean_class` is never
# touched. A corrupted label is replaced by one drawn uniformly from the other corrupted classes
# (`strategy="exclude"`, the paper's strategy 2) or from all other classes, the clean one included
# (`strategy="include"`, strategy 1). We then measure test accuracy of the clean class and of the
# corrupted ones after the last epoch (the paper's protocol), and beside it at the epoch of lowest loss on
# the clean validation labels (an oracle checkpoint: a user with noisy labels has no clean validation
# split). At p = 0 nothing is corrupted, so one run per seed serves every clean class and strategy: its
# identity names neither. Run it with papermill, for example
# `papermill notebooks/multiclass.ipynb out.ipynb -p p 0.9 -p clean_class 3`. A sweep may `pack` several
# runs that differ only in clean class, strategy and seed into one execution: they share the start-up
# and the images, are trained together when `batched` is set (`multiclass.fit`), and each
# gets its own record; the figures below show the first run.

# %% tags=["parameters"]
profile = "paper"  # paper, fashion or smoke: sets the default data set and the training recipe (hetnoise.settings)
dataset = None  # None: the data set of the profile (paper: mnist, fashion: fashion-mnist, smoke: digits)
model = None  # None: lenet5 for 28×28 grey images, resnet18 for CIFAR
p = 0.8  # corruption probability of every non-clean class
clean_class = 0  # the class whose training labels are never changed (None when p is 0)
strategy = "exclude"  # exclude (strategy 2 of the paper) or include (strategy 1), None when p is 0
seed = 0  # noise, initial weights, batch order and dropout
split_seed = 0  # the stratified 9:1 train/validation split
epochs = None  # None: the profile's recipe; so for batch_size, optimizer, lr, weight_decay, schedule, augment
batch_size = None
optimizer = None
lr = None
weight_decay = None
schedule = None
augment = None
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/multiclass/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: computed from the parameters; else checked against them
batched = False  # train a pack's models at once (stacked LeNet-5s) instead of one after another
save_checkpoints = True  # keep each run's last-epoch and oracle weights beside its record (RUN_ID.final.pt, .oracle.pt)
pack = []  # further runs of this execution, each a dict of clean_class, strategy, seed (`hetnoise sweep --pack`)

# %%
from hetnoise import settings, spec

run = settings.from_namespace("multiclass", globals())
runs = settings.runs("multiclass", run)

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from hetnoise import data, models, multiclass, plots, records, train

t_start = time.perf_counter()
plots.style()
recipe = spec.recipe(run)
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"])
dev = train.pick_device(run["device"])
print(f"{run['dataset']}: {len(ds.x_train)} training and {len(ds.x_test)} test images from {Path(ds.source).name}")
print(f"model {run['model']}, {recipe}, device {dev}; {len(runs)} run(s) in this process"
      f"{', trained at once' if run['batched'] and len(runs) > 1 else ''}")

# %% [markdown]
# ## Noisy labels
# Only the training part of the 9:1 split is corrupted; the validation part, used to pick the
# checkpoint, and the test set keep their true labels (paper §4.1).

# %%
train_idx, val_idx = multiclass.split(ds, run["split_seed"])
noisy_labels, reports = multiclass.corrupt(ds.y_train[train_idx].numpy(), run["p"], ds.num_classes, runs)
report = reports[0]
noise_table = pd.DataFrame({"class": ds.classes, "intended": report.intended_rate,
                            "realised": report.realised_rate, "samples": report.counts})
noise_table.round(3)

# %%
fig, ax = plt.subplots(figsize=(4.2, 3.6))
plots.transition_heatmap(ax, report.empirical_matrix, title=f"Realised P(noisy | true), p = {run['p']}")
kept = ("every class keeps its labels" if run["clean_class"] is None else
        f"class {run['clean_class']} keeps all its labels")
display(fig, metadata={"image/png": {"alt": f"Heat map of the realised share of each noisy label per true class at "
                                            f"p = {run['p']}; {kept}."}})
plt.close(fig)

# %% [markdown]
# ## Training

# %%
nets = multiclass.build(run["model"], ds, runs)
histories = multiclass.fit(nets, ds, train_idx, val_idx, noisy_labels, recipe, runs, device=run["device"],
                           batched=run["batched"])
net, history = nets[0], histories[0]
print(f"{models.count_parameters(net):,} parameters; last epoch {len(history.epochs)}, lowest clean-validation loss "
      f"at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, axes = plt.subplots(1, 2, figsize=(5.8, 2.8), sharex=True)
axes[0].plot(curves.epoch, curves.train_loss, ls="--", label="training (noisy)")
axes[0].plot(curves.epoch, curves.val_loss, label="validation (true)")
axes[0].set(xlabel="epoch", ylabel="cross-entropy")
axes[1].plot(curves.epoch, curves.train_acc, ls="--", label="training (noisy)")
axes[1].plot(curves.epoch, curves.val_acc, label="validation (true)")
axes[1].set(xlabel="epoch", ylabel="accuracy")
for ax in axes:
    ax.axvline(history.best_epoch, color="grey", ls=":")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
axes[0].legend()
display(fig, metadata={"image/png": {"alt": f"Loss and accuracy per epoch on the noisy training labels and the true "
                                            f"validation labels; lowest validation loss at epoch "
                                            f"{history.best_epoch}."}})
plt.close(fig)

# %% [markdown]
# ## Test accuracy per epoch
# The test set is evaluated after every epoch and chooses nothing: it shows when the corrupted classes give
# way and whether the network memorises their noisy labels (training accuracy on them rising above what
# their clean part allows).

# %%
curves = multiclass.epoch_curves(history.to_dict(), run["clean_class"])
fig, ax = plt.subplots(figsize=(5.8, 3))
ax.plot(curves.epoch, curves.clean, color=plots.CLEAN, marker="o", ms=3, label="test, clean class")
ax.plot(curves.epoch, curves.corrupted, color=plots.CORRUPT, marker="s", ms=3, label="test, corrupted classes (mean)")
ax.plot(curves.epoch, curves["noisy training labels"], color=plots.OVERALL, ls="--", label="training, noisy labels")
ax.axvline(history.best_epoch, color="grey", ls=":", label="oracle epoch")
ax.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 102))
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
fig.legend(loc="outside lower center", ncol=2, frameon=False)
display(fig, metadata={"image/png": {"alt": f"Test accuracy per epoch of the clean class and the corrupted classes, "
                                            f"and training accuracy on the noisy labels; at the last epoch "
                                            f"{curves.clean.iloc[-1]:.1f} % and {curves.corrupted.iloc[-1]:.1f} %."}})
plt.close(fig)

# %% [markdown]
# ## Test accuracy per class, after the last epoch

# %%
preds = multiclass.predict(nets, ds)
evaluations = [multiclass.evaluate(ds.y_test.numpy(), pred, r["clean_class"], ds.num_classes)
               for pred, r in zip(preds, runs)]
oracles = [multiclass.evaluate(ds.y_test.numpy(), pred, r["clean_class"], ds.num_classes)
           for pred, r in zip(multiclass.predict(multiclass.oracle_nets(nets, histories), ds), runs)]
acc, clean_acc, corrupted_acc = (evaluations[0][k] for k in ("per_class_acc", "clean_acc", "corrupted_acc"))
fig, ax = plt.subplots(figsize=(5.8, 3))
ax.bar(range(ds.num_classes), acc, color=[plots.CLEAN if c == run["clean_class"] else plots.CORRUPT
                                          for c in range(ds.num_classes)])
title = (f"no label corrupted: mean over classes {clean_acc:.3f}" if run["clean_class"] is None else
         f"clean class {run['clean_class']}: {clean_acc:.3f}; corrupted mean: {corrupted_acc:.3f}")
ax.set(xticks=range(ds.num_classes), xlabel="class", ylabel="test accuracy", ylim=(0, 1),
       title=f"{title}\n(oracle epoch {history.best_epoch}: {oracles[0]['clean_acc']:.3f} and "
             f"{oracles[0]['corrupted_acc']:.3f})")
fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=plots.CLEAN, label="clean class"),
                    plt.Rectangle((0, 0), 1, 1, color=plots.CORRUPT, label="corrupted classes")],
           loc="outside lower center", ncol=2, frameon=False)
display(fig, metadata={"image/png": {"alt": f"Bar chart of test accuracy per class after the last epoch: clean class "
                                            f"{run['clean_class']} {clean_acc:.3f}, corrupted classes "
                                            f"{corrupted_acc:.3f} on average."}})
plt.close(fig)

# %% [markdown]
# ## Records
# One record per run. The wall time of a packed execution is shared equally among its runs; the figures
# above show the run with `pack_index` 0.

# %%
results = multiclass.results(evaluations, oracles, reports, histories, n_params=models.count_parameters(net),
                             n_train=len(train_idx), n_val=len(val_idx), ds=ds, device=str(dev),
                             elapsed_s=time.perf_counter() - t_start, batched=run["batched"])
for r, result, weights in zip(runs, results, multiclass.checkpoints(nets, histories)):
    path = records.save_run(run["results_dir"], "multiclass", r, result)
    if run["save_checkpoints"]:
        for reading, state in weights.items():
            records.save_tensors(path.with_suffix(f".{reading}.pt"), state)
    print(f"clean class {r['clean_class']}, {r['strategy']}, seed {r['seed']}: clean {result['clean_acc']:.3f}, "
          f"corrupted {result['corrupted_acc']:.3f} → {path.name}")
