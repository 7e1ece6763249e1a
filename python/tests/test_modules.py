"""nn.Module drop-ins: same constructor arguments, parameters and state_dict as PyTorch's."""
import copy

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

import upsample.torch as ut  # noqa: E402

CONV_ARGS = [
    (nn.ConvTranspose1d, ut.ConvTranspose1d, dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                                                  output_padding=1, groups=2, bias=True, dilation=1), (2, 4, 7)),
    (nn.ConvTranspose2d, ut.ConvTranspose2d, dict(in_channels=3, out_channels=4, kernel_size=(4, 3), stride=2,
                                                  padding=1, bias=False, dilation=(1, 2)), (2, 3, 5, 4)),
    (nn.ConvTranspose3d, ut.ConvTranspose3d, dict(in_channels=2, out_channels=2, kernel_size=2, stride=2,
                                                  groups=2), (1, 2, 3, 2, 3)),
]


@pytest.mark.parametrize("tcls,ucls,kwargs,shape", CONV_ARGS, ids=["1d", "2d", "3d"])
def test_conv_transpose_module_swap(tcls, ucls, kwargs, shape):
    t = tcls(**kwargs, dtype=torch.float64)
    u = ucls(**kwargs, dtype=torch.float64)
    assert isinstance(u, tcls)
    assert list(u.state_dict()) == list(t.state_dict())
    assert [n for n, _ in u.named_parameters()] == [n for n, _ in t.named_parameters()]
    u.load_state_dict(t.state_dict())
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(u(x), t(x))
    # from_torch shares the parameters
    f = ucls.from_torch(t)
    assert f.weight is t.weight
    torch.testing.assert_close(f(x), t(x))
    # backward fills the same parameter gradients
    u.zero_grad()
    t.zero_grad()
    u(x).square().sum().backward()
    t(x).square().sum().backward()
    for (n, pu), (_, pt) in zip(u.named_parameters(), t.named_parameters()):
        torch.testing.assert_close(pu.grad, pt.grad, rtol=1e-10, atol=1e-10), n


def test_replace_modules_in_a_model_and_train_one_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, stride=2, padding=1), nn.ReLU(),
                          nn.Sequential(nn.ConvTranspose2d(8, 3, 3, padding=1)), nn.Tanh()).double()
    ref = copy.deepcopy(model)
    ut.replace_modules(model)
    assert isinstance(model[0], ut.ConvTranspose2d) and isinstance(model[2][0], ut.ConvTranspose2d)
    assert model.state_dict().keys() == ref.state_dict().keys()
    opt, opt_ref = torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), lr=0.1)
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    for m, o in ((model, opt), (ref, opt_ref)):
        o.zero_grad()
        m(x).square().mean().backward()
        o.step()
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10), k


def test_max_unpool_modules():
    for d, pool, tun, uun in ((1, nn.MaxPool1d, nn.MaxUnpool1d, ut.MaxUnpool1d),
                              (2, nn.MaxPool2d, nn.MaxUnpool2d, ut.MaxUnpool2d),
                              (3, nn.MaxPool3d, nn.MaxUnpool3d, ut.MaxUnpool3d)):
        x = torch.randn((2, 3) + (6,) * d)
        p, i = pool(2, return_indices=True)(x)
        assert isinstance(uun(2), tun)
        torch.testing.assert_close(uun(2)(p, i), tun(2)(p, i))
        torch.testing.assert_close(uun(2)(p, i, output_size=x.shape), tun(2)(p, i, output_size=x.shape))


def test_unpool_module():
    x = torch.randn(1, 2, 3, 4)
    torch.testing.assert_close(ut.Unpool(2)(x), nn.Upsample(scale_factor=2, mode="nearest")(x))
    assert "bed_of_nails" in repr(ut.Unpool(2, "bed_of_nails"))


def test_padding_mode_other_than_zeros_is_refused():
    with pytest.raises(ValueError):
        ut.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
