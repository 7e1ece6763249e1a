"""torch.compile(fullgraph=True, dynamic=True) through the custom ops, forward and backward."""
import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import upsample.torch as ut  # noqa: E402


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = ut.ConvTranspose2d(4, 6, 4, stride=2, padding=1)
        self.up1d = ut.ConvTranspose1d(6, 2, 3, stride=2, padding=1, output_padding=1)
        self.unpool = ut.MaxUnpool2d(2)

    def forward(self, x):
        y = torch.relu(self.up(x))
        p, i = ut.max_pool2d_with_indices(y, 2)
        y = self.unpool(p, i) + ut.nearest_unpool(p, 2) + ut.bed_of_nails_unpool(p, 2)
        z = self.up1d(y.flatten(2))
        return z


class Reference(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d

    def forward(self, x):
        d = self.d
        y = torch.relu(F.conv_transpose2d(x, d.up.weight, d.up.bias, stride=2, padding=1))
        p, i = F.max_pool2d(y, 2, return_indices=True)
        bed = torch.zeros_like(y)
        bed[..., ::2, ::2] = p
        y = F.max_unpool2d(p, i, 2) + F.interpolate(p, scale_factor=2, mode="nearest") + bed
        return F.conv_transpose1d(y.flatten(2), d.up1d.weight, d.up1d.bias, stride=2, padding=1, output_padding=1)


def _run(backend, dynamic):
    torch._dynamo.reset()
    m = Decoder().double()
    ref = Reference(m)
    compiled = torch.compile(m, backend=backend, fullgraph=True, dynamic=dynamic)
    for shape in ((2, 4, 4, 6), (3, 4, 6, 4)):  # a second shape: no recompilation error, right result
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        y = compiled(x)
        yr = ref(x)
        torch.testing.assert_close(y, yr, rtol=1e-10, atol=1e-10)
        g = torch.randn_like(y)
        got = torch.autograd.grad(y, [x] + list(m.parameters()), g)
        want = torch.autograd.grad(yr, [x] + list(m.parameters()), g)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_compile_aot_eager_dynamic():
    _run("aot_eager", True)


def test_compile_inductor_dynamic():
    _run("inductor", True)


def test_compile_inductor_static_channels_last():
    torch._dynamo.reset()
    m = ut.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1)
    c = torch.compile(m, fullgraph=True)
    x = torch.randn(2, 3, 5, 6).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = c(x)
    yr = F.conv_transpose2d(x, m.weight, m.bias, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(y, yr, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    g = x.grad.clone()
    x.grad = None
    yr.sum().backward()
    torch.testing.assert_close(g, x.grad, rtol=1e-5, atol=1e-5)
