"""The paper's networks: LeNet-5 for 28×28 digits, ResNet18 (CIFAR 3×3 stem or torchvision's 7×7 stem for
128×128 COCO images; width and activation configurable, for the 2×-wide Mish backbone of the
multi-task study), and a multi-head wrapper."""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "mish": nn.Mish}
STEMS = ("cifar", "imagenet")


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and dropout for 28×28 inputs (paper §4.1). Dropout draws its masks from
    `generator` when set (`seed_dropout`), or takes them from `masks` (K models trained at once), so that
    each run has a stream of its own; on the CPU both equal `nn.Dropout` drawing from the same seed."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), MaxPool2x2(), nn.ReLU(),
            nn.Conv2d(6, 16, 5), MaxPool2x2(), nn.ReLU(), nn.Flatten())
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)
        self.dropout = dropout
        self.generator: torch.Generator | None = None

    def forward(self, x, masks: tuple[torch.Tensor, torch.Tensor] | None = None):
        h = self._drop(torch.relu(self.fc1(self.features(x))), 0, masks)
        h = self._drop(torch.relu(self.fc2(h)), 1, masks)
        return self.fc3(h)

    def _drop(self, h: torch.Tensor, i: int, masks) -> torch.Tensor:
        if not self.training or self.dropout == 0:
            return h
        return h * (masks[i] if masks is not None else dropout_mask(h.shape, self.dropout, self.generator, h.device))

    def mask_shapes(self, batch_size: int) -> list[tuple[int, int]]:
        """Shapes of the two dropout masks of one training batch."""
        return [(batch_size, self.fc1.out_features), (batch_size, self.fc2.out_features)]


class MaxPool2x2(nn.Module):
    """`nn.MaxPool2d(2)`, bit-identical in values and gradients, faster on the CPU for even-sized maps. LeNet-5
    pools before its ReLU: both are monotone, so values and gradients are those of ReLU then pool, and the
    ReLU touches a quarter of the elements."""

    def forward(self, x):
        if x.device.type != "cpu" or x.dim() != 4 or x.shape[-1] % 2 or x.shape[-2] % 2:
            return F.max_pool2d(x, 2)
        return _MaxPool2x2.apply(x)[0]


class _MaxPool2x2(torch.autograd.Function):
    """2×2 max-pool returning (maxima, row-0 maxima, row-1 maxima): forward as the maximum of four strided
    views (aten's NCHW CPU kernel is several times slower on small channel counts); backward through aten's
    own kernel, given the indices aten picks (the first maximum of each window in row-major order)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        r0 = torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2])
        r1 = torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2])
        return torch.maximum(r0, r1), r0, r1

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(output[1], output[2])
        ctx.save_for_backward(inputs[0], *output)

    @staticmethod
    def backward(ctx, grad, _g0, _g1):
        x, m, r0, r1 = ctx.saved_tensors
        return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, [2, 2], [2, 2], [0, 0], [1, 1], False,
                                                               pool_indices(x, m, r0, r1))


def pool_indices(x: torch.Tensor, m: torch.Tensor, r0: torch.Tensor, r1: torch.Tensor) -> torch.Tensor:
    """Flat H×W index of each 2×2 window's first maximum `m` (`r0`, `r1`: the maxima of its two rows)."""
    h, w = x.shape[-2:]
    row = r0 != m
    col = (row & (x[..., 1::2, 0::2] != r1)) | (~row & (x[..., 0::2, 0::2] != r0))
    base = torch.arange(0, h, 2, device=x.device)[:, None] * w + torch.arange(0, w, 2, device=x.device)
    return (row * w).add_(col).add_(base)


class LeNet5Features(nn.Module):
    """LeNet-5 up to its 84-unit layer, channels and units scaled by `width`, no dropout: the small shared
    trunk of the multi-task study on 28×28 images (the paper's wide-ResNet18 trunk, CPU-sized)."""

    def __init__(self, width: float = 1, activation: str = "relu", in_channels: int = 1):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is unknown; choose one of {sorted(ACTIVATIONS)}")
        if not width > 0:
            raise ValueError(f"width={width} must be positive (1 = LeNet-5's 6-16-120-84 units)")
        c1, c2, f1, f2 = (max(1, round(c * width)) for c in (6, 16, 120, 84))
        act = ACTIVATIONS[activation]
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2), act(), MaxPool2x2(),
            nn.Conv2d(c1, c2, 5), act(), MaxPool2x2(), nn.Flatten(),
            nn.Linear(c2 * 5 * 5, f1), act(), nn.Linear(f1, f2), act())
        self.out_features = f2

    def forward(self, x):
        return self.net(x)


def dropout_mask(shape, p: float, generator: torch.Generator | None, device) -> torch.Tensor:
    """Inverted-dropout mask: Bernoulli(1 − p) divided by 1 − p, drawn as `nn.Dropout` draws it on the CPU."""
    return torch.empty(shape, device=device).bernoulli_(1 - p, generator=generator).div_(1 - p)


def seed_dropout(model: nn.Module, seed: int, device) -> None:
    """Give every LeNet-5 in `model` its own dropout stream, seeded with `seed` on `device`."""
    for m in model.modules():
        if isinstance(m, LeNet5):
            m.generator = torch.Generator(device=device).manual_seed(seed)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act: type[nn.Module]):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act = act()
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18Features(nn.Module):
    """ResNet18 up to the pooled feature vector. `stem="cifar"`: 3×3/1 conv, no max-pool (32×32 inputs);
    `stem="imagenet"`: torchvision's 7×7/2 conv and 3×3/2 max-pool (128×128 inputs reach the blocks at 32×32)."""

    def __init__(self, width: float = 1, activation: str = "relu", in_channels: int = 3, stem: str = "cifar"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is unknown; choose one of {sorted(ACTIVATIONS)}")
        if not width > 0:
            raise ValueError(f"width={width} must be positive (1 = the standard 64-128-256-512 channels)")
        if stem not in STEMS:
            raise ValueError(f"stem={stem!r} is unknown; choose one of {list(STEMS)}")
        act = ACTIVATIONS[activation]
        w = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        if stem == "cifar":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, w[0], 3, 1, 1, bias=False), nn.BatchNorm2d(w[0]), act())
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, w[0], 7, 2, 3, bias=False), nn.BatchNorm2d(w[0]), act(),
                                      nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], w[0]
        for i, cout in enumerate(w):
            for j in range(2):
                blocks.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1, act))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = w[-1]

    def forward(self, x):
        return self.pool(self.blocks(self.stem(x)))


def resnet18(num_classes: int = 10, width: float = 1, activation: str = "relu", in_channels: int = 3,
             stem: str = "cifar") -> nn.Module:
    """ResNet18 classifier: the backbone and one linear head (≈11.2 M parameters for 10 classes)."""
    features = ResNet18Features(width, activation, in_channels, stem)
    return nn.Sequential(features, nn.Linear(features.out_features, num_classes))


class MultiHead(nn.Module):
    """A shared backbone with one linear head per task; `forward(x, task)` returns that task's logits."""

    def __init__(self, backbone: nn.Module, head_sizes: list[int]):
        super().__init__()
        self.backbone = backbone
        self.heads = nn.ModuleList(nn.Linear(backbone.out_features, n) for n in head_sizes)

    def forward(self, x, task: int = 0):
        return self.heads[task](self.backbone(x))


def build(name: str, num_classes: int, in_channels: int, seed: int | None = None) -> nn.Module:
    """A model by name, as the notebooks ask for it; with `seed`, its initial weights depend on the seed
    alone (not on what the process drew before), and the global random state is left as it was."""
    if name not in ("lenet5", "resnet18"):
        raise ValueError(f"model={name!r} is unknown; choose 'lenet5' or 'resnet18'")
    with seeded(seed):
        return LeNet5(num_classes, in_channels) if name == "lenet5" else resnet18(num_classes, in_channels=in_channels)


@contextmanager
def seeded(seed: int | None):
    """Draw from torch's generator seeded with `seed` inside the block, then restore the global stream;
    with None, draw from the global stream as usual."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

