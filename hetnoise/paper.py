"""What the paper reports, with where it says so, for the book to set beside our numbers."""

# §5.1: corrupted-class accuracy "didn't drop off until 80 % corruption" on MNIST and "started to
# drop off after 60 % label corruption" on CIFAR-10; the clean class stays flat in both.
MULTICLASS_KNEE = {"mnist": 0.8, "cifar10": 0.6}

# Our offline and CPU stand-ins for the paper's data sets (same network, same protocol).
STAND_IN = {"digits": "mnist", "fashion-mnist": "mnist", "mnist": "mnist", "cifar10": "cifar10"}

# The paper's protocol of each study (§4), set beside ours in the book's "What was run" boxes.
PROTOCOL = {
    "multiclass": {
        "data": "MNIST (60,000 training, 10,000 test images); CIFAR-10 (50,000 / 10,000)",
        "network": "LeNet-5 with dropout (MNIST); ResNet18 (CIFAR-10)",
        "training": "14 epochs at batch 128 (LeNet-5), 200 epochs at batch 256 (ResNet18); 9:1 train/validation "
                    "split, only the training part corrupted; optimiser not stated",
        "grid": "p ∈ {0, 0.5, 0.6, 0.8, 0.9, 0.95, 0.98, 1}; each of the 10 classes clean in turn; both replacement "
                "strategies",
        "runs": "160 per data set (8 p × 10 clean classes × 2 strategies), one seed",
    },
    "mtl": {
        "data": "CIFAR-100 split at random into two 50-class tasks (500 training, 100 test images per class); 9:1 "
                "train/validation split",
        "network": "ResNet18 of twice the standard width, Mish activations, a shared trunk and one linear head per task",
        "training": "a batch of each task in turn, the two cross-entropies summed; checkpoint of the lowest Task1 "
                    "validation loss; optimiser, schedule and epochs not stated; weight decay 5e-4 and 5e-5 (§6)",
        "grid": "12 values of p in [0, 1] on Task2's labels (within Task2); single-task baseline on Task1",
        "runs": "3 per p (three class splits)",
    },
    "multilabel": {
        "data": "mini MS-COCO: 20 % of COCO 2017 training images (≈ 25 K) at 128 × 128, 80 labels; 9:1 "
                "train/validation split; COCO's 5 K validation images as the test set",
        "network": "ResNet18 from scratch, 80 sigmoid outputs, binary cross-entropy",
        "training": "optimiser, schedule and epochs not stated",
        "grid": "12 values of p in [0, 1]; case 1 corrupts labels 1–50, case 2 labels 51–80; a corrupted positive "
                "moves to another label of its group",
        "runs": "3 per p and case",
    },
    # §6 proposes this study and runs none of it: what it does say, beside our design.
    "regression": {
        "data": "none: no balanced image regression data set was found (age estimation given as the example)",
        "network": "not stated",
        "training": "labels in a range [a, b] get N(0, σ²) noise truncated to stay in [a, b], in training only",
        "grid": "not stated",
        "runs": "none; evaluation of the corrupted and the uncorrupted range by MSE",
    },
}

# §5.2 (percent test accuracy on Task1 / Task2 of CIFAR-100).
MTL = {"stl_task1": 75.63, "mtl_task1_p0": 79.50, "benefit_p0": 3.87, "task2_p0": 80.9, "benefit_p1": 0.0}

# §5.3 (percent mAP of the corrupted label group at p = 0 and p = 1).
MULTILABEL = {"case1": {"corrupted": "1-50", "map_p0": 31.30, "map_p1": 6.38},
              "case2": {"corrupted": "51-80", "map_p0": 27.97, "map_p1": 11.42}}


def knee_for(dataset: str) -> float | None:
    """The p up to which the paper saw corrupted-class accuracy hold, for a data set or its stand-in."""
    return MULTICLASS_KNEE.get(STAND_IN.get(dataset, dataset))
