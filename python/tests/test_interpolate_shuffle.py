"""Interpolation (F.interpolate) and pixel shuffle (F.pixel_shuffle / F.pixel_unshuffle): the
core layer and upsample.torch against PyTorch on CPU, gradients, opcheck and gradcheck."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch.library import opcheck  # noqa: E402

import upsample  # noqa: E402
import upsample.torch as ut  # noqa: E402

from conftest import TOLERANCES  # noqa: E402

if "upsInterpolateForward" in upsample.missing_functions:
    pytest.skip("this libupsample.so has no interpolation / pixel shuffle", allow_module_level=True)

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _tol(dtype, scale=1.0):
    t = TOLERANCES[str(dtype).replace("torch.", "")]
    return dict(rtol=t["rtol"], atol=t["atol"] * scale)


CASES = [
    # (shape, kwargs)
    ((2, 3, 7), dict(scale_factor=2.0, mode="nearest")),
    ((2, 3, 5, 6), dict(size=(9, 13), mode="nearest")),
    ((2, 3, 5, 6), dict(scale_factor=(1.5, 2.5), mode="nearest-exact")),
    ((2, 3, 9), dict(size=20, mode="linear", align_corners=True)),
    ((2, 3, 5, 6), dict(scale_factor=2.0, mode="bilinear", align_corners=False)),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bilinear", antialias=True)),
    ((1, 2, 6, 5), dict(scale_factor=(1.7, 2.0), mode="bicubic", align_corners=False)),
    ((1, 2, 12, 9), dict(size=(5, 4), mode="bicubic", antialias=True)),
    ((1, 2, 3, 4, 5), dict(scale_factor=2.0, mode="trilinear", align_corners=True)),
    ((1, 2, 9, 7), dict(size=(4, 3), mode="area")),
    ((1, 2, 4, 3, 5), dict(scale_factor=1.5, mode="nearest", recompute_scale_factor=True)),
]


@pytest.mark.parametrize("shape,kw", CASES, ids=lambda v: v["mode"] if isinstance(v, dict) else "x".join(map(str, v)))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_interpolate_vs_torch(shape, kw, dtype):
    x = torch.randn(shape, dtype=torch.float64).to(dtype)
    y = ut.interpolate(x, **kw)
    ref = F.interpolate(x.double(), **kw)
    assert y.shape == ref.shape and y.dtype == dtype
    torch.testing.assert_close(y.double(), ref, **_tol(dtype, 4))
    dy = torch.randn(ref.shape, dtype=torch.float64).to(dtype)
    xa = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(ut.interpolate(xa, **kw), xa, dy)
    xr = x.double().requires_grad_()
    (gr,) = torch.autograd.grad(F.interpolate(xr, **kw), xr, dy.double())
    torch.testing.assert_close(g.double(), gr, **_tol(dtype, 16))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("cl", [False, True], ids=["cf", "cl"])
def test_pixel_shuffle_vs_torch(dtype, cl):
    x = torch.randn(2, 12, 3, 5, dtype=torch.float64).to(dtype)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    y = ut.pixel_shuffle(x, 2)
    assert torch.equal(y, F.pixel_shuffle(x, 2))
    assert torch.equal(ut.pixel_unshuffle(y, 2), x)
    dy = torch.randn_like(y)
    xa = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(ut.pixel_shuffle(xa, 2), xa, dy)
    assert torch.equal(g, F.pixel_unshuffle(dy, 2))
    ya = y.clone().requires_grad_()
    (g2,) = torch.autograd.grad(ut.pixel_unshuffle(ya, 2), ya, x)
    assert torch.equal(g2, F.pixel_shuffle(x, 2))


def test_pixel_shuffle_modules_and_3d():
    x = torch.randn(1, 16, 2, 3)
    assert torch.equal(ut.PixelShuffle(2)(x), torch.nn.PixelShuffle(2)(x))
    assert torch.equal(ut.PixelUnshuffle(2)(ut.PixelShuffle(2)(x)), x)
    x3 = torch.randn(1, 16, 2, 3, 2)
    y3 = ut.pixel_shuffle(x3, 2)
    assert y3.shape == (1, 2, 4, 6, 4)
    assert torch.equal(ut.pixel_unshuffle(y3, 2), x3)


def test_upsample_module():
    x = torch.randn(1, 3, 4, 5)
    for kw in (dict(scale_factor=2, mode="nearest"), dict(size=(7, 9), mode="bilinear", align_corners=True)):
        torch.testing.assert_close(ut.Upsample(**kw)(x), torch.nn.Upsample(**kw)(x), rtol=1e-5, atol=1e-5)


def test_core_layer_on_numpy():
    x = np.random.standard_normal((1, 2, 4, 5))
    y = upsample.interpolate(x, scale_factor=2, mode="bilinear")
    ref = F.interpolate(torch.from_numpy(x), scale_factor=2, mode="bilinear").numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    dx = upsample.interpolate_backward(np.ones_like(y), x.shape, scale_factor=2, mode="bilinear")
    np.testing.assert_allclose(dx.sum(), y.size, rtol=1e-12)
    s = upsample.pixel_shuffle(np.random.standard_normal((1, 8, 2, 2)), 2)
    assert s.shape == (1, 2, 4, 4)
    np.testing.assert_array_equal(upsample.pixel_shuffle_backward(s, 2, "shuffle"), upsample.pixel_unshuffle(s, 2))


def test_errors_carry_the_library_message():
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.interpolate(np.zeros((1, 1, 4)), mode="linear")  # neither size nor scale_factor
    assert e.value.status_name == "UPS_STATUS_BAD_PARAMETER" and e.value.message
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.pixel_shuffle(np.zeros((1, 3, 2, 2)), 2)
    assert e.value.status_name == "UPS_STATUS_SHAPE_MISMATCH"


def test_opcheck_and_gradcheck():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    ops = torch.ops.upsample
    opcheck(ops.interpolate.default, (x, None, [2.0, 1.5], "bilinear", False, False, False))
    opcheck(ops.interpolate.default, (x, [7, 3], None, "bicubic", True, False, False))
    opcheck(ops.interpolate_backward.default,
            (torch.randn(2, 3, 8, 10, dtype=torch.float64), [2, 3, 4, 5], None, [2.0, 2.0], "nearest", False, False, False))
    xs = torch.randn(2, 8, 3, 3, dtype=torch.float64, requires_grad=True)
    opcheck(ops.pixel_shuffle.default, (xs, 2, "shuffle"))
    opcheck(ops.pixel_shuffle.default, (torch.randn(1, 2, 4, 6, dtype=torch.float64, requires_grad=True), 2, "unshuffle"))
    opcheck(ops.pixel_shuffle_backward.default, (torch.randn(2, 2, 6, 6, dtype=torch.float64), 2, "shuffle"))
    assert torch.autograd.gradcheck(lambda a: ut.interpolate(a, scale_factor=2, mode="bilinear"), (x,))
    assert torch.autograd.gradcheck(lambda a: ut.interpolate(a, size=(3, 3), mode="area"), (x,))
    assert torch.autograd.gradcheck(lambda a: ut.pixel_shuffle(a, 2), (xs,))


def test_compile_dynamic():
    torch._dynamo.reset()

    def f(a):
        return ut.pixel_shuffle(ut.interpolate(a, scale_factor=2.0, mode="bilinear"), 2)

    c = torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=True)
    for shape in ((1, 8, 3, 4), (2, 8, 5, 3)):
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        y = c(x)
        yr = F.pixel_shuffle(F.interpolate(x, scale_factor=2.0, mode="bilinear"), 2)
        torch.testing.assert_close(y, yr)
        (g,) = torch.autograd.grad(y.sum(), x)
        (gr,) = torch.autograd.grad(yr.sum(), x)
        torch.testing.assert_close(g, gr)
