import copy

import torch

from hetnoise import models


def test_lenet5_shapes():
    net = models.LeNet5(10, 1)
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_resnet18_parameter_count_and_shape():
    net = models.resnet18(10)
    assert models.count_parameters(net) == 11_173_962  # the CIFAR ResNet18: ≈11.2 M
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_wide_mish_two_heads():
    backbone = models.ResNet18Features(width=2, activation="mish")
    net = models.MultiHead(backbone, [50, 50])
    assert backbone.out_features == 1024 and len(net.heads) == 2
    assert any(isinstance(m, torch.nn.Mish) for m in backbone.modules())
    x = torch.zeros(2, 3, 32, 32)
    assert net(x, 0).shape == (2, 50) and net(x, 1).shape == (2, 50)
    assert models.count_parameters(backbone) == resnet18_count([128, 256, 512, 1024], 3)
    assert models.count_parameters(net) == resnet18_count([128, 256, 512, 1024], 3) + 2 * (1024 * 50 + 50)


def resnet18_count(w, cin):
    """Parameters of the CIFAR-stem ResNet18 backbone derived from its layout: 3×3 stem, four stages of two
    basic blocks (two 3×3 convolutions each, a 1×1 shortcut where the shape changes), BatchNorm γ and β."""
    total, c = 9 * cin * w[0] + 2 * w[0], w[0]
    for cout in w:
        for _ in range(2):
            total += 9 * c * cout + 2 * cout + 9 * cout * cout + 2 * cout
            total += (c * cout + 2 * cout) if c != cout else 0
            c = cout
    return total


def test_lenet5_dropout_with_its_own_generator_equals_nn_dropout_from_the_same_seed():
    """A run's dropout stream (`seed_dropout`) draws exactly the masks `nn.Dropout` draws after manual_seed."""
    net = models.LeNet5(10, 1).train()
    x = torch.randn(4, 1, 28, 28)
    reference = torch.nn.Sequential(net.features, net.fc1, torch.nn.ReLU(), torch.nn.Dropout(0.5), net.fc2,
                                    torch.nn.ReLU(), torch.nn.Dropout(0.5), net.fc3)
    torch.manual_seed(5)
    expected = [reference(x) for _ in range(3)]
    models.seed_dropout(net, 5, "cpu")
    torch.manual_seed(99)  # the global stream no longer matters
    assert all(torch.equal(net(x), e) for e in expected)
    assert torch.equal(net.eval()(x), reference.eval()(x))


def test_imagenet_stem_matches_torchvision_resnet18():
    """The COCO network: same parameters as torchvision's ResNet18; 128×128 inputs reach the blocks at 32×32."""
    import pytest
    import torchvision

    net = models.resnet18(80, stem="imagenet")
    reference = torchvision.models.resnet18(num_classes=80)
    assert models.count_parameters(net) == models.count_parameters(reference)
    assert net[0].stem(torch.zeros(1, 3, 128, 128)).shape[-2:] == (32, 32)
    assert net(torch.zeros(2, 3, 128, 128)).shape == (2, 80)
    with pytest.raises(ValueError, match="stem='vgg' is unknown"):
        models.resnet18(10, stem="vgg")


def test_seeded_builders_depend_on_the_seed_alone():
    """The notebooks' models start from weights fixed by `seed`, whatever the process drew before."""
    from hetnoise import mtl

    def weights(net):
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    a = weights(models.build("lenet5", 10, 1, seed=3))
    torch.rand(100)
    state = torch.get_rng_state()
    assert torch.equal(a, weights(models.build("lenet5", 10, 1, seed=3)))
    assert torch.equal(state, torch.get_rng_state())  # the global stream is left as it was
    assert not torch.equal(a, weights(models.build("lenet5", 10, 1, seed=4)))
    m1, m2 = (mtl.build_model([5, 5], 0.25, "mish", 3, seed=s) for s in (0, 0))
    assert torch.equal(weights(m1), weights(m2))
    assert not torch.equal(weights(m1), weights(mtl.build_model([5, 5], 0.25, "mish", 3, seed=1)))


def tied_maps(*shape):
    """Feature maps full of ties (a constant band and values on a coarse grid), as ReLU and zero padding make."""
    g = torch.Generator().manual_seed(0)
    x = torch.round(torch.randn(shape, generator=g) * 2) / 2
    x[..., :4, :] = 0.5
    return x


def pool_and_grad(pool, x, g):
    x = x.clone().requires_grad_()
    out = pool(x)
    out.backward(g)
    return out, x.grad


def test_2x2_pool_equals_max_pool2d_bit_for_bit_with_ties_and_relu_moved_after_it():
    """Values and gradients of pool-then-ReLU equal ReLU-then-`nn.MaxPool2d` exactly: the gradient goes to the
    first maximum of each window, as aten's kernel sends it."""
    x, g = tied_maps(8, 6, 28, 28), torch.randn(8, 6, 14, 14)
    ref = pool_and_grad(lambda t: torch.nn.functional.max_pool2d(torch.relu(t), 2), x, g)
    got = pool_and_grad(lambda t: torch.relu(models.MaxPool2x2()(t)), x, g)
    assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])
    odd = tied_maps(2, 3, 7, 9)
    assert torch.equal(models.MaxPool2x2()(odd), torch.nn.functional.max_pool2d(odd, 2))


def test_2x2_pool_under_vmap_equals_max_pool2d():
    """The K-at-once trainer runs the pool under `torch.func.vmap`."""
    x = tied_maps(3, 4, 2, 10, 10)
    f = torch.func.grad(lambda t: models.MaxPool2x2()(t).square().sum())
    ref = torch.func.grad(lambda t: torch.nn.functional.max_pool2d(t, 2).square().sum())
    assert torch.equal(torch.func.vmap(f)(x), torch.stack([ref(t) for t in x]))


def test_lenet5_gives_the_values_and_gradients_of_relu_then_max_pool2d():
    net = models.build("lenet5", 10, 1, seed=0)
    net.dropout = 0
    ref = copy.deepcopy(net)
    c1, _, _, c2 = list(ref.features)[:4]
    ref.features = torch.nn.Sequential(c1, torch.nn.ReLU(), torch.nn.MaxPool2d(2), c2, torch.nn.ReLU(),
                                       torch.nn.MaxPool2d(2), torch.nn.Flatten())
    x = tied_maps(16, 1, 28, 28)
    outs = [m(x) for m in (net, ref)]
    for out in outs:
        out.square().sum().backward()
    assert torch.equal(outs[0], outs[1]) and list(net.state_dict()) == list(ref.state_dict())
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(net.parameters(), ref.parameters()))
