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
# # Features study: does noise in nine classes perturb the clean class's features?
#
# The paper concludes from test accuracy alone that the noise of the corrupted classes "doesn't perturb the
# feature representation of the uncorrupted class" (§5.1), and leaves "how the heterogeneous noisy labels
# impact the features learned at each layer" to future work (§6). This notebook measures it on one
# multi-class run, training nothing: it reads that run's LeNet-5 (at the last epoch or at the oracle
# checkpoint, `checkpoint`) and the p = 0 run of the same seed, both kept beside their records by the
# multi-class sweep, and at each layer (conv1, conv2, fc1, fc2, logits) measures
#
# - linear probes trained on the features of the clean, true-labelled validation split (never trained on)
#   and scored on the test set: each class against the rest (balanced accuracy), and all ten classes;
# - linear CKA to the p = 0 network, on the test images of each class;
# - each class's between-to-within scatter ratio on the test images.
#
# The multi-class record is looked for in `source_results`, or else in `results_dir` and every folder above
# it. Run it with papermill after the multi-class run it reads, for example
# `hetnoise sweep multiclass --profile smoke --results results` and then
# `papermill notebooks/features.ipynb out.ipynb -p profile smoke -p p 0.9 -p clean_class 7`.

# %% tags=["parameters"]
profile = "paper"  # paper, fashion or smoke: the multi-class profile of the run read (data set and recipe)
dataset = None  # None: the data set of the profile (paper: mnist, fashion: fashion-mnist, smoke: digits)
p = 0.8  # corruption probability of the multi-class run read
clean_class = 0  # its clean class (None when p is 0)
strategy = "exclude"  # its strategy, exclude or include (None when p is 0)
checkpoint = "final"  # final (last epoch, the paper's protocol) or oracle (lowest clean-validation loss)
seed = 0  # its seed; the reference is the run of this seed at p 0
split_seed = 0  # its 9:1 train/validation split; the probes train on the validation part
epochs = None  # None: the profile's recipe; so for batch_size, optimizer, lr, weight_decay, schedule, augment
batch_size = None
optimizer = None
lr = None
weight_decay = None
schedule = None
augment = None
data_root = ""  # empty: $HETNOISE_DATA, else ~/.cache/hetnoise
download = True  # let torchvision download a missing data set
results_dir = "results"  # the record goes to results_dir/features/PROFILE/RUN_ID.json
device = ""  # empty: CUDA when present, else CPU
run_id = ""  # empty: computed from the parameters; else checked against them
source_results = ""  # the folder holding the multi-class records and weights; empty: results_dir or above
pack = []  # further runs of this execution, each a dict of clean_class, strategy, checkpoint, seed (`--pack`)

# %%
from hetnoise import settings

run = settings.from_namespace("features", globals())
runs = settings.runs("features", run)

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from hetnoise import data, features, plots, records, train

t_start = time.perf_counter()
plots.style()
ds = data.load(run["dataset"], run["data_root"] or None, download=run["download"])
dev = train.pick_device(run["device"])
print(f"{run['dataset']}: {len(ds.x_test)} test images from {Path(ds.source).name}; device {dev}; "
      f"{len(runs)} run(s) in this process")
networks = [features.networks(r, *(settings.resolve("multiclass", features.source_params(r, reference))
                                   for reference in (False, True)), ds) for r in runs]
for r, (source, reference, *_) in zip(runs, networks):
    print(f"reading {features.describe(source)} (run {source['run_id']}) against {features.describe(reference)} "
          f"(run {reference['run_id']}), {r['checkpoint']} checkpoint")

# %% [markdown]
# ## Measures per layer
# The probes train on the validation split of the multi-class run (true labels, at most
# `features.PROBE_PER_CLASS` images per class); CKA and scatter ratios use the test images. The table and
# figure show the first run of this execution.

# %%
probe_images, probe_labels = features.probe_split(ds, run["split_seed"])
shared_s, measured, own_s = time.perf_counter() - t_start, [], []
for source, reference, source_record, reference_record, net, reference_net in networks:
    t_run = time.perf_counter()
    measured.append(features.measures(net, reference_net, ds, probe_images, probe_labels, run["device"]))
    own_s.append(time.perf_counter() - t_run)
per_layer = measured[0]
features.layer_table(per_layer, run["clean_class"])

# %%
fig = features.depth_figure(per_layer, run["clean_class"])
kept = ("every class's mean twice (p = 0)" if run["clean_class"] is None else
        f"clean class {run['clean_class']} beside the mean of the corrupted classes")
table = features.layer_table(per_layer, run["clean_class"])
display(fig, metadata={"image/png": {"alt": f"Three panels along the depth of LeNet-5 (conv1 to logits): one-vs-rest "
                                            f"probe balanced accuracy, linear CKA to the p = 0 network and scatter "
                                            f"ratio, {kept}; at the logits the clean-class probe reaches "
                                            f"{table['probe clean (%)'].iloc[-1]:.1f} % and its CKA "
                                            f"{table['CKA clean'].iloc[-1]:.2f}."}})
plt.close(fig)

# %% [markdown]
# ## Records
# One record per run; its wall time is its own measuring plus an equal share of the start-up.

# %%
for r, per_layer, (_, _, source_record, reference_record, _, _), seconds in zip(runs, measured, networks, own_s):
    result = features.result(per_layer, source_record, reference_record, r, len(probe_labels), ds, dev,
                             seconds + shared_s / len(runs))
    saved = records.save_run(run["results_dir"], "features", r, result)
    print(f"{features.describe(r)}, {r['checkpoint']}: {len(probe_labels)} probe images, "
          f"{result['wall_time_s']:.1f} s → {saved.name}")
