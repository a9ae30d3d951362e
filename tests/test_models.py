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
    assert models.count_parameters(backbone) == 44_652_672  # 2× width: ≈4× the 11.17 M of ResNet18
    assert models.count_parameters(net) == 44_755_172


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
