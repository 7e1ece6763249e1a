"""upsample.torch against PyTorch's own operators on CPU (the reference backend): forward and
gradients for every op, per dtype and layout; opcheck; gradcheck in float64."""
import itertools

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch.library import opcheck  # noqa: E402

import upsample  # noqa: E402
import upsample.torch as ut  # noqa: E402

from conftest import TOLERANCES  # noqa: E402

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _tol(dtype, scale=1.0):
    t = TOLERANCES[str(dtype).replace("torch.", "")]
    return dict(rtol=t["rtol"], atol=t["atol"] * scale)


def _rand(shape, dtype, cl=False):
    x = torch.randn(shape, dtype=torch.float64).to(dtype)
    if cl and len(shape) in (4, 5):
        x = x.contiguous(memory_format=torch.channels_last if len(shape) == 4 else torch.channels_last_3d)
    return x


def _grads(fn, inputs, dy):
    inputs = [i.detach().clone().requires_grad_(i.is_floating_point()) if i is not None else None for i in inputs]
    y = fn(*inputs)
    req = [i for i in inputs if i is not None and i.requires_grad]
    return y, torch.autograd.grad(y, req, dy)


def _ref64(fn, inputs):
    """PyTorch's op in float64 on the same (already rounded) inputs."""
    return [i.double() if i is not None and i.is_floating_point() else i for i in inputs]


# --- transposed convolution ------------------------------------------------------------------------------
CT_CASES = [
    # (d, N, C_in, C_out, in_spatial, kernel, stride, padding, output_padding, groups, dilation, bias)
    (1, 2, 4, 6, (7,), 3, 2, 1, 1, 2, 1, True),
    (1, 1, 3, 2, (5,), 4, 3, 0, 0, 1, 2, False),
    (2, 2, 4, 6, (5, 4), 3, 2, 1, 1, 1, 1, True),
    (2, 1, 6, 4, (4, 5), (3, 2), (2, 3), (1, 0), (1, 2), 2, (1, 2), True),
    (2, 2, 3, 3, (3, 3), 1, 1, 0, 0, 3, 1, False),
    (3, 1, 4, 4, (3, 4, 3), 3, 2, 1, 1, 2, 1, True),
    (3, 2, 2, 3, (2, 3, 2), (2, 3, 1), (1, 2, 2), (0, 1, 0), (0, 1, 1), 1, (2, 1, 1), False),
]


def _ct_torch(d):
    return {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[d]


def _ct_ups(d):
    return {1: ut.conv_transpose1d, 2: ut.conv_transpose2d, 3: ut.conv_transpose3d}[d]


def _ct_inputs(case, dtype, cl):
    d, n, cin, cout, sp, k, s, p, op, g, dil, bias = case
    k = (k,) * d if isinstance(k, int) else k
    x = _rand((n, cin) + sp, dtype, cl)
    w = _rand((cin, cout // g) + k, dtype, cl)
    b = _rand((cout,), dtype) if bias else None
    kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=dil)
    return x, w, b, kw


def _layouts(cases, rank):
    """(case, channels_last) pairs; 1-D tensors have no channels-last memory format in PyTorch."""
    return [pytest.param(c, cl, id="%dd-%s-%d" % (rank(c), "cl" if cl else "cf", i))
            for i, c in enumerate(cases) for cl in (False, True) if not (cl and rank(c) == 1)]


@pytest.mark.parametrize("case,cl", _layouts(CT_CASES, lambda c: c[0]))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_conv_transpose_vs_torch(case, dtype, cl):
    d = case[0]
    x, w, b, kw = _ct_inputs(case, dtype, cl)
    y = _ct_ups(d)(x, w, b, **kw)
    ref = _ct_torch(d)(*_ref64(None, [x, w, b]), **kw)
    assert y.dtype == dtype and y.shape == ref.shape
    if cl and d > 1:
        assert ut._channels_last(y) or y.is_contiguous()
    terms = x.shape[1] * w[0, 0].numel()
    torch.testing.assert_close(y.double(), ref, **_tol(dtype, terms ** 0.5))
    # gradients
    dy = _rand(tuple(y.shape), dtype)
    _, g = _grads(lambda *a: _ct_ups(d)(*a, **kw), [x, w, b], dy)
    _, gr = _grads(lambda *a: _ct_torch(d)(*a, **kw), _ref64(None, [x, w, b]), dy.double())
    red = max(dy.numel() // dy.shape[1], 1)
    for got, want, name in zip(g, gr, ["dx", "dw", "db"]):
        assert got.dtype == dtype, name
        torch.testing.assert_close(got.double(), want, **_tol(dtype, red ** 0.5 * 2)), name


@pytest.mark.parametrize("algorithm,deterministic", [("gather", False), ("scatter_atomic", False), ("auto", True)])
def test_conv_transpose_algorithms(algorithm, deterministic):
    x, w, b, kw = _ct_inputs(CT_CASES[2], torch.float64, False)
    y = ut.conv_transpose2d(x, w, b, algorithm=algorithm, deterministic=deterministic, **kw)
    torch.testing.assert_close(y, F.conv_transpose2d(x, w, b, **kw))


def test_conv_transpose_unbatched_and_output_size():
    m = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    u = ut.ConvTranspose2d.from_torch(m)
    x = torch.randn(3, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(u(x), m(x))
    xb = x.unsqueeze(0)
    torch.testing.assert_close(u(xb, output_size=[10, 10]), m(xb, output_size=[10, 10]))


# --- max-unpool with max-pool indices -----------------------------------------------------------------
POOL_CASES = [
    # (d, shape, kernel, stride, padding)
    (1, (2, 3, 12), 2, 2, 0),
    (1, (1, 2, 11), 3, 2, 1),
    (2, (2, 3, 8, 6), 2, 2, 0),
    (2, (1, 2, 7, 9), (3, 2), (2, 2), (1, 1)),
    (3, (1, 2, 4, 6, 4), 2, 2, 0),
    (3, (1, 1, 5, 5, 6), (3, 3, 2), (2, 2, 2), (1, 1, 0)),
]
_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_UNPOOL = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}
_UPS_UNPOOL = {1: ut.max_unpool1d, 2: ut.max_unpool2d, 3: ut.max_unpool3d}
_UPS_POOL = {1: ut.max_pool1d_with_indices, 2: ut.max_pool2d_with_indices, 3: ut.max_pool3d_with_indices}


@pytest.mark.parametrize("case,cl", _layouts(POOL_CASES, lambda c: c[0]))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_unpool_vs_torch(case, dtype, cl):
    d, shape, k, s, p = case
    x = _rand(shape, dtype, cl)
    pooled, idx = _POOL[d](x.double(), k, s, p, return_indices=True)
    pooled = pooled.to(dtype)
    if cl:
        fmt = torch.channels_last if d == 2 else torch.channels_last_3d
        pooled, idx = pooled.contiguous(memory_format=fmt), idx.contiguous(memory_format=fmt)
    y = _UPS_UNPOOL[d](pooled, idx, k, s, p, output_size=shape[2:])
    ref = _UNPOOL[d](pooled.double(), idx, k, s, p, output_size=shape[2:])
    torch.testing.assert_close(y.double(), ref, rtol=0, atol=0)  # a data movement: bit-exact
    dy = _rand(tuple(y.shape), dtype)
    _, (g,) = _grads(lambda a: _UPS_UNPOOL[d](a, idx, k, s, p, output_size=shape[2:]), [pooled], dy)
    _, (gr,) = _grads(lambda a: _UNPOOL[d](a, idx, k, s, p, output_size=shape[2:]), [pooled.double()], dy.double())
    torch.testing.assert_close(g.double(), gr, rtol=0, atol=0)


def test_max_unpool_default_output_size_and_module():
    x = torch.randn(2, 3, 8, 8)
    p, i = F.max_pool2d(x, 2, return_indices=True)
    torch.testing.assert_close(ut.MaxUnpool2d(2)(p, i), torch.nn.MaxUnpool2d(2)(p, i))
    torch.testing.assert_close(ut.max_unpool2d(p[0], i[0], 2), F.max_unpool2d(p[0], i[0], 2))  # unbatched


def test_max_unpool_bad_index_raises_library_error():
    x = torch.randn(1, 1, 2, 2)
    i = torch.tensor([[[[0, 1], [2, 100]]]])
    with pytest.raises(upsample.UpsampleError) as e:
        ut.max_unpool2d(x, i, 2)
    assert e.value.status_name == "UPS_STATUS_INDEX_OUT_OF_RANGE"


@pytest.mark.parametrize("d,shape,k,s,p,dil,ceil", [
    (1, (2, 3, 11), 3, 2, 1, 1, False),
    (1, (1, 2, 10), 2, 2, 0, 2, True),
    (2, (2, 2, 9, 7), 3, 2, 1, 1, True),
    (2, (1, 3, 8, 8), (2, 3), (2, 1), (1, 1), (2, 1), False),
    (3, (1, 2, 5, 6, 5), 2, 2, 0, 1, True),
])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_pool_vs_torch(d, shape, k, s, p, dil, ceil, dtype):
    x = _rand(shape, dtype)
    y, i = _UPS_POOL[d](x, k, s, p, dil, ceil)
    yr, ir = _POOL[d](x.double(), k, s, p, dil, ceil, return_indices=True)
    torch.testing.assert_close(y.double(), yr, rtol=0, atol=0)
    assert torch.equal(i, ir)
    dy = _rand(tuple(y.shape), dtype)
    _, (g,) = _grads(lambda a: _UPS_POOL[d](a, k, s, p, dil, ceil)[0], [x], dy)
    _, (gr,) = _grads(lambda a: _POOL[d](a, k, s, p, dil, ceil), [x.double()], dy.double())
    torch.testing.assert_close(g.double(), gr, **_tol(dtype, 4))


# --- nearest and bed-of-nails unpooling -------------------------------------------------------------------
@pytest.mark.parametrize("case,cl", _layouts([((2, 3, 5), 3), ((2, 3, 4, 5), (2, 3)), ((1, 2, 3, 2, 4), (2, 1, 3))],
                                             lambda c: len(c[0]) - 2))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_nearest_vs_interpolate(case, dtype, cl):
    shape, scale = case
    x = _rand(shape, dtype, cl)
    d = len(shape) - 2
    sc = (scale,) * d if isinstance(scale, int) else scale
    y = ut.nearest_unpool(x, scale)
    ref = F.interpolate(x.double(), scale_factor=sc, mode="nearest")
    torch.testing.assert_close(y.double(), ref, rtol=0, atol=0)
    dy = _rand(tuple(y.shape), dtype)
    _, (g,) = _grads(lambda a: ut.nearest_unpool(a, scale), [x], dy)
    _, (gr,) = _grads(lambda a: F.interpolate(a, scale_factor=sc, mode="nearest"), [x.double()], dy.double())
    cell = 1
    for v in sc:
        cell *= v
    torch.testing.assert_close(g.double(), gr, **_tol(dtype, cell ** 0.5))


@pytest.mark.parametrize("shape,scale", [((2, 3, 5), 2), ((2, 3, 4, 5), (2, 3)), ((1, 2, 3, 2, 4), (2, 2, 1))])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_bed_of_nails(shape, scale, dtype):
    x = _rand(shape, dtype)
    d = len(shape) - 2
    sc = (scale,) * d if isinstance(scale, int) else scale
    y = ut.bed_of_nails_unpool(x, scale)
    ref = torch.zeros(shape[:2] + tuple(n * f for n, f in zip(shape[2:], sc)), dtype=dtype)
    ref[(Ellipsis,) + tuple(slice(None, None, f) for f in sc)] = x
    assert torch.equal(y, ref)
    dy = _rand(tuple(y.shape), dtype)
    _, (g,) = _grads(lambda a: ut.bed_of_nails_unpool(a, scale), [x], dy)
    assert torch.equal(g, dy[(Ellipsis,) + tuple(slice(None, None, f) for f in sc)])


def test_non_dense_inputs_are_made_contiguous():
    x = torch.randn(2, 3, 8, 10)[..., ::2]
    torch.testing.assert_close(ut.nearest_unpool(x, 2), F.interpolate(x, scale_factor=2, mode="nearest"))


def test_unsupported_dtype_in_torch_layer():
    with pytest.raises(upsample.UpsampleError, match="dtype"):
        ut.nearest_unpool(torch.zeros(1, 1, 2, dtype=torch.int32), 2)


# --- opcheck and gradcheck -----------------------------------------------------------------------------
def _opcheck_samples():
    x = torch.randn(2, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    geo = ([2, 2], [1, 1], [1, 0], 2, [1, 1], "auto", False)
    y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=(1, 0), groups=2)
    dy = torch.randn_like(y)
    xp = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    pooled, idx = F.max_pool2d(xp, 2, return_indices=True)
    ops = torch.ops.upsample
    return [
        (ops.conv_transpose.default, (x, w, b) + geo),
        (ops.conv_transpose.default, (x.to(memory_format=torch.channels_last), w, None) + geo),
        (ops.conv_transpose_backward_data.default, (dy.detach(), w.detach()) + geo),
        (ops.conv_transpose_backward_weight.default, (x.detach(), dy.detach(), list(w.shape)) + geo),
        (ops.conv_transpose_backward_bias.default, (dy.detach(), "gather", True)),
        (ops.unpool.default, (x, [2, 3], "nearest")),
        (ops.unpool.default, (x, [2, 1], "bed_of_nails")),
        (ops.unpool_backward.default, (torch.randn(2, 4, 6, 8, dtype=torch.float64, requires_grad=True), [2, 2], "nearest")),
        (ops.max_pool.default, (xp.clone().requires_grad_(), [2, 2], [2, 2], [0, 0], [1, 1], False)),
        (ops.max_pool_backward.default, (torch.randn_like(pooled), idx, list(xp.shape), [2, 2], [2, 2], [0, 0], [1, 1], False)),
        (ops.max_unpool.default, (pooled.clone().requires_grad_(), idx, [2, 2], [2, 2], [0, 0], None)),
        (ops.max_unpool.default, (pooled.clone().requires_grad_(), idx, [2, 2], [2, 2], [0, 0], [7, 7])),
        (ops.max_unpool_backward.default, (torch.randn_like(xp), idx, [2, 2], [2, 2], [0, 0])),
    ]


@pytest.mark.parametrize("i", range(13))
def test_opcheck(i):
    op, args = _opcheck_samples()[i]
    opcheck(op, args)


def test_gradcheck_conv_transpose():
    for d in (1, 2, 3):
        case = [c for c in CT_CASES if c[0] == d][0]
        x, w, b, kw = _ct_inputs(case, torch.float64, False)
        x, w = x[:1, :, ...], w
        inputs = [t.requires_grad_() for t in (x, w, b) if t is not None]
        fn = _ct_ups(d)
        assert torch.autograd.gradcheck(lambda *a: fn(*a, **kw), tuple(inputs))


def test_gradcheck_pooling_ops():
    x = torch.randn(1, 2, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: ut.nearest_unpool(a, (2, 3)), (x,))
    assert torch.autograd.gradgradcheck(lambda a: ut.nearest_unpool(a, (2, 3)), (x,))
    assert torch.autograd.gradcheck(lambda a: ut.bed_of_nails_unpool(a, 2), (x,))
    assert torch.autograd.gradcheck(lambda a: ut.max_pool2d_with_indices(a, 2, 2, 0, 1, True)[0], (x,))
    p, i = F.max_pool2d(x.detach(), 2, return_indices=True)
    p.requires_grad_()
    assert torch.autograd.gradcheck(lambda a: ut.max_unpool2d(a, i, 2), (p,))
    assert torch.autograd.gradcheck(lambda a: ut.max_unpool2d(a, i, 2, output_size=(5, 7)), (p,))
