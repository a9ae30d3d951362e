# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
# corrupted ones. Run it with papermill, for example
# `papermill notebooks/multiclass.ipynb out.ipynb -p p 0.9 -p clean_class 3`.

# %% tags=["parameters"]
dataset = ""  # empty: the data set of the profile (paper: mnist, cpu: fashion-mnist, smoke: digits)
p = 0.8  # corruption probability of every non-clean class
clean_class = 0  # the class whose training labels are never changed
strategy = "exclude"  # exclude (strategy 2 of the paper) or include (strategy 1)
seed = 0  # noise, initialisation and batch order
split_seed = 0  # the stratified 9:1 train/validation split
profile = "paper"  # paper, cpu or smoke: sets the default data set and the training recipe
epochs = 0  # 0: the number of epochs of the recipe
model = ""  # empty: lenet5 for 28×28 grey images, resnet18 for CIFAR-10
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/multiclass/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: a hash of the parameters

# %%
import time
from dataclasses import asdict

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from hetnoise import data, metrics, models, noise, plots, records, train

t_start = time.perf_counter()
plots.style()
dataset = dataset or {"smoke": "digits", "cpu": "fashion-mnist"}.get(profile, "mnist")
model = model or ("resnet18" if dataset.startswith("cifar") else "lenet5")
if not 0 <= p <= 1:
    raise ValueError(f"p={p} must lie in [0, 1]")
if strategy not in ("include", "exclude"):
    raise ValueError(f"strategy={strategy!r} is unknown; choose 'include' or 'exclude'")
recipe = train.recipe(model, profile, epochs=epochs)
ds = data.load(dataset, data_root or None, download=download)
if not (isinstance(clean_class, (int, np.integer)) and 0 <= clean_class < ds.num_classes):
    raise ValueError(f"clean_class={clean_class!r} must be an integer class index in 0..{ds.num_classes - 1}")
dev = train.pick_device(device)
print(f"{dataset}: {len(ds.x_train)} training and {len(ds.x_test)} test images from {ds.source}")
print(f"model {model}, {recipe}, device {dev}")

# %% [markdown]
# ## Noisy labels
# Only the training part of the 9:1 split is corrupted; the validation part, used to pick the
# checkpoint, and the test set keep their true labels (paper §4.1).

# %%
train_idx, val_idx = data.stratified_split(ds.y_train.numpy(), 0.1, split_seed)
y_true = ds.y_train[train_idx].numpy()
y_noisy, report = noise.corrupt_classes(y_true, p, clean=[clean_class], num_classes=ds.num_classes,
                                        strategy=strategy, seed=seed)
noise_table = pd.DataFrame({"class": ds.classes, "intended": report.intended_rate,
                            "realised": report.realised_rate, "samples": report.counts})
noise_table.round(3)

# %%
fig, ax = plt.subplots(figsize=(4.2, 3.6))
plots.transition_heatmap(ax, report.empirical_matrix, title=f"Realised P(noisy | true), p = {p}")
plt.show()

# %% [markdown]
# ## Training

# %%
net = models.build(model, ds.num_classes, ds.x_train.shape[1])
history = train.fit(net, ds.x_train[train_idx], torch.from_numpy(y_noisy), ds.x_train[val_idx],
                    ds.y_train[val_idx], recipe, mean=ds.mean, std=ds.std, device=device, seed=seed)
print(f"{models.count_parameters(net):,} parameters; best validation loss at epoch {history.best_epoch}")

# %%
curves = pd.DataFrame(history.epochs)
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
curves.plot(x="epoch", y=["train_loss", "val_loss"], ax=axes[0], ylabel="cross-entropy")
curves.plot(x="epoch", y="val_acc", ax=axes[1], ylabel="validation accuracy (clean labels)", legend=False)
axes[0].axvline(history.best_epoch, color="grey", ls=":")
axes[1].axvline(history.best_epoch, color="grey", ls=":")
plt.show()

# %% [markdown]
# ## Test accuracy per class

# %%
pred = train.predict(net, ds.x_test, ds.mean, ds.std).argmax(1).numpy()
acc = metrics.per_class_accuracy(ds.y_test.numpy(), pred, ds.num_classes)
corrupted = [c for c in range(ds.num_classes) if c != clean_class]
clean_acc, corrupted_acc = float(acc[clean_class]), float(np.nanmean(acc[corrupted]))
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(ds.num_classes), acc, color=[plots.CLEAN if c == clean_class else plots.CORRUPT
                                          for c in range(ds.num_classes)])
ax.set(xticks=range(ds.num_classes), xlabel="class", ylabel="test accuracy", ylim=(0, 1),
       title=f"clean class {clean_class}: {clean_acc:.3f}; corrupted mean: {corrupted_acc:.3f}")
plt.show()

# %%
params = dict(dataset=dataset, p=float(p), clean_class=int(clean_class), strategy=strategy, seed=int(seed),
              split_seed=int(split_seed), profile=profile, epochs=recipe.epochs, model=model)
result = dict(clean_acc=clean_acc, corrupted_acc=corrupted_acc, test_acc=float((pred == ds.y_test.numpy()).mean()),
              per_class_acc=acc.tolist(), noise=report.to_dict(), history=history.to_dict(),
              best_epoch=history.best_epoch, recipe=asdict(recipe),
              n_params=models.count_parameters(net), n_train=len(train_idx), n_val=len(val_idx),
              n_test=len(ds.x_test), data_source=ds.source, device=str(dev),
              wall_time_s=time.perf_counter() - t_start)
record_path = records.save_run(results_dir, "multiclass", params, result, run_id=run_id)
print(f"record written to {record_path}")
