"""The framework-neutral layer: NumPy through DLPack and __array_interface__, every C function
reachable, and errors as UpsampleError carrying the library's status name and message."""
import ctypes

import numpy as np
import pytest

import upsample
from upsample import _abi

torch = pytest.importorskip("torch")
F = torch.nn.functional


class OnlyDLPack:
    """Exposes an array through __dlpack__ alone (no array interface)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class OnlyArrayInterface:
    def __init__(self, a):
        self.a = a
        self.__array_interface__ = a.__array_interface__


def _rand(*shape, dtype="float64"):
    return np.random.standard_normal(shape).astype(dtype)


# --- round trips -------------------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", [lambda a: a, OnlyDLPack, OnlyArrayInterface], ids=["numpy", "dlpack", "array_interface"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_unpool_round_trip(wrap, dtype):
    x = _rand(2, 3, 4, 5, dtype=dtype)
    out = np.empty((2, 3, 8, 15), dtype=dtype)
    r = upsample.unpool(wrap(x), (2, 3), "nearest", out=wrap(out))
    assert r is not None
    np.testing.assert_array_equal(out, x.repeat(2, 2).repeat(3, 3))
    dx = upsample.unpool_backward(wrap(out), (2, 3), "nearest", out=wrap(np.empty_like(x)))
    assert dx is not None


def test_numpy_outputs_are_numpy_and_zero_copy():
    x = _rand(1, 2, 3)
    y = upsample.unpool(x, 2, "bed_of_nails")
    assert isinstance(y, np.ndarray) and y.shape == (1, 2, 6)
    np.testing.assert_array_equal(y[..., ::2], x)
    np.testing.assert_array_equal(y[..., 1::2], 0)
    # torch <-> numpy through DLPack share memory with the library's output
    t = torch.from_dlpack(y)
    assert t.data_ptr() == y.__array_interface__["data"][0]


def test_torch_from_numpy_dlpack_round_trip():
    x = _rand(2, 4, 5, 6, dtype="float32")
    w = _rand(4, 3, 3, 3, dtype="float32")
    y = upsample.conv_transpose(x, w, stride=2, padding=1)
    ref = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1)
    torch.testing.assert_close(torch.from_dlpack(y), ref, rtol=1e-5, atol=1e-5)
    # and the other way: torch tensors into the core API, numpy views of the result
    yt = upsample.conv_transpose(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1)
    assert isinstance(yt, torch.Tensor)
    np.testing.assert_allclose(yt.numpy(), np.from_dlpack(yt), rtol=0, atol=0)


def test_channels_last_numpy_arrays():
    x = _rand(2, 5, 6, 3).transpose(0, 3, 1, 2)  # an NHWC buffer seen as (N, C, H, W)
    w = _rand(3, 2, 3, 3).transpose(0, 3, 1, 2).copy().transpose(0, 1, 2, 3)  # weight channels-first
    w_cl = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y = upsample.conv_transpose(x, w_cl, stride=2)
    assert y.strides[1] == y.itemsize  # channels-last output for channels-last inputs
    ref = F.conv_transpose2d(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w)),
                             stride=2)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)


# --- every C function reachable -------------------------------------------------------------------------
def test_status_version_and_device_queries():
    assert upsample.status_name(_abi.UPS_STATUS_BAD_GROUPS) == "UPS_STATUS_BAD_GROUPS"
    assert upsample.version() == (_abi.UPS_VERSION_MAJOR, _abi.UPS_VERSION_MINOR, _abi.UPS_VERSION_PATCH)
    assert upsample.cuda_device_available() in (True, False)
    upsample.tensor_desc(_abi.UPS_DTYPE_F32, 0, 1, 1, [1])
    assert upsample.last_error() == ""


def test_tensor_desc_counts():
    d = upsample.tensor_desc(_abi.UPS_DTYPE_F16, _abi.UPS_LAYOUT_CHANNELS_LAST, 2, 3, [4, 5])
    assert (d.n, d.c, d.spatial_dims, list(d.spatial[:2])) == (2, 3, 2, [4, 5])
    assert upsample.element_count(d) == 120
    assert upsample.byte_size(d) == 240


def test_handle_calls():
    h = upsample.Handle("reference")
    assert h.backend == _abi.UPS_BACKEND_REFERENCE
    assert h.stream == 0
    h.set_workspace(None, 0)
    with pytest.raises(upsample.UpsampleError) as e:
        h.set_workspace(None, 16)
    assert e.value.status_name == "UPS_STATUS_NULL_POINTER"
    assert h.index_check_mode == "auto"
    h.index_check_mode = "async"
    assert h.index_check_mode == "async"
    assert h.query_runtime_error() == "UPS_STATUS_SUCCESS"  # the reference backend's record is clean
    assert h.query_runtime_error(blocking=False) == "UPS_STATUS_SUCCESS"
    h.close()
    assert upsample.get_handle(None) is upsample.get_handle(None)


def test_output_desc_queries():
    x = upsample.tensor_desc(_abi.UPS_DTYPE_F32, 0, 2, 4, [5, 6])
    u = upsample.unpool_desc(2, 2)
    y = upsample.unpool_output_desc(u, x)
    assert list(y.spatial[:2]) == [10, 12]
    assert list(upsample.unpool_backward_output_desc(u, y).spatial[:2]) == [5, 6]
    p = upsample.pool_desc(2, 2)
    py, pi = upsample.max_pool_output_desc(p, x)
    assert list(py.spatial[:2]) == [2, 3] and pi.dtype == _abi.UPS_DTYPE_I64
    uy = upsample.max_unpool_output_desc(p, py)
    assert list(uy.spatial[:2]) == [4, 6]
    assert list(upsample.max_unpool_output_desc(p, py, output_size=[5, 7]).spatial[:2]) == [5, 7]
    assert list(upsample.max_unpool_backward_output_desc(p, uy, pi).spatial[:2]) == [2, 3]
    c = upsample.conv_transpose_desc(2, stride=2, padding=1, output_padding=1)
    w = upsample.tensor_desc(_abi.UPS_DTYPE_F32, 0, 4, 3, [3, 3])
    cy = upsample.conv_transpose_output_desc(c, x, w)
    assert (cy.c, list(cy.spatial[:2])) == (3, [10, 12])
    assert list(upsample.conv_transpose_backward_data_output_desc(c, cy, w).spatial[:2]) == [5, 6]
    dw = upsample.conv_transpose_backward_weight_output_desc(c, x, cy)
    assert (dw.n, dw.c, list(dw.spatial[:2])) == (4, 3, [3, 3])


def test_workspace_and_algorithm_queries_on_the_reference_backend():
    x, w = _rand(2, 4, 5, 6), _rand(4, 3, 3, 3)
    g = dict(stride=2, padding=1)
    assert upsample.conv_transpose_workspace_size(x, w, **g) == 0
    assert upsample.conv_transpose_choose_algorithm(x, w, **g) in ("gather", "scatter_atomic", "implicit_gemm")
    algo, reason = upsample.conv_transpose_plan_algorithm(x.astype("float32"), w.astype("float32"), 90, **g)
    assert algo in ("gather", "scatter_atomic", "implicit_gemm") and reason
    dy = upsample.conv_transpose(x, w, **g)
    assert upsample.conv_transpose_backward_weight_workspace_size(x, dy, **g) == 0
    assert upsample.conv_transpose_backward_weight_choose_algorithm(x, dy, **g) in ("gather", "scatter_atomic",
                                                                                     "implicit_gemm")
    assert upsample.conv_transpose_backward_bias_workspace_size(dy, **g) == 0
    xp = _rand(1, 2, 4, 4)
    y, i = upsample.max_pool(xp, 2)
    assert upsample.max_unpool_workspace_size(y, i, 2) >= 0
    assert upsample.max_unpool_backward_workspace_size(xp, i, 2) >= 0


def test_all_backward_ops_on_numpy():
    x, w, b = _rand(2, 4, 5), _rand(4, 3, 3), _rand(3)
    g = dict(stride=2, padding=1, output_padding=1)
    y = upsample.conv_transpose(x, w, b, **g)
    dy = _rand(*y.shape)
    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    F.conv_transpose1d(xt, wt, bt, stride=2, padding=1, output_padding=1).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(upsample.conv_transpose_backward_data(dy, w, **g), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(upsample.conv_transpose_backward_weight(x, dy, **g), wt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(upsample.conv_transpose_backward_bias(dy, **g), bt.grad.numpy(), rtol=1e-12, atol=1e-12)
    xp = _rand(2, 3, 6)
    yp, ip = upsample.max_pool(xp, 2)
    dxp = upsample.max_pool_backward(np.ones_like(yp), ip, xp.shape, 2)
    assert dxp.sum() == yp.size
    dxu = upsample.max_unpool_backward(xp, ip, 2)
    np.testing.assert_array_equal(dxu, np.take_along_axis(xp, ip, axis=2))


# --- errors ---------------------------------------------------------------------------------------------
def test_library_errors_become_exceptions_with_its_message():
    x = _rand(1, 4, 3, 3)
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.conv_transpose(x, _rand(4, 3, 3, 3), groups=3)
    err = e.value
    assert err.status == _abi.UPS_STATUS_BAD_GROUPS and err.status_name == "UPS_STATUS_BAD_GROUPS"
    assert "groups" in err.message and err.message == upsample.last_error()
    assert "UPS_STATUS_BAD_GROUPS" in str(err)


def test_int32_indices_match_int64():
    # upsample.h: I32 switches are the same op as PyTorch's I64 ones, at half the bytes.
    x = np.random.standard_normal((2, 3, 6, 7))
    y64, i64 = upsample.max_pool(x, 3, 2, 1)
    i32 = np.full(i64.shape, -7, dtype=np.int32)
    y32, i32 = upsample.max_pool(x, 3, 2, 1, indices=i32)
    assert i32.dtype == np.int32 and (y32 == y64).all() and (i32 == i64).all()
    u64 = upsample.max_unpool(y64, i64, 3, 2, 1, output_size=x.shape)
    u32 = upsample.max_unpool(y32, i32, 3, 2, 1, output_size=x.shape)
    assert (u32 == u64).all()
    g = np.random.standard_normal(u64.shape)
    assert (upsample.max_unpool_backward(g, i32, 3, 2, 1) == upsample.max_unpool_backward(g, i64, 3, 2, 1)).all()
    dy = np.random.standard_normal(y64.shape)
    assert (upsample.max_pool_backward(dy, i32, x.shape, 3, 2, 1) ==
            upsample.max_pool_backward(dy, i64, x.shape, 3, 2, 1)).all()
    # An output of another dtype than the op writes is refused, not overrun.
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.max_pool(x, 3, 2, 1, out=np.empty(y64.shape, dtype=np.float32))
    assert e.value.status_name == "UPS_STATUS_NOT_SUPPORTED"


def test_index_out_of_range_is_reported_and_nothing_written():
    x = _rand(1, 1, 2, 2)
    idx = np.array([[[[0, 1], [2, 99]]]], dtype=np.int64)
    out = np.full((1, 1, 4, 4), 7.0)
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.max_unpool(x, idx, 2, out=out)
    assert e.value.status_name == "UPS_STATUS_INDEX_OUT_OF_RANGE"
    assert (out == 7.0).all()


def test_bad_scale_and_bad_output_padding():
    with pytest.raises(upsample.UpsampleError, match="UPS_STATUS_BAD_PARAMETER"):
        upsample.unpool(_rand(1, 1, 2), 0)
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.conv_transpose(_rand(1, 2, 3), _rand(2, 2, 3), stride=2, output_padding=2)
    assert e.value.status_name == "UPS_STATUS_BAD_OUTPUT_PADDING"


def test_misaligned_array_is_explained():
    buf = np.zeros(4 * 2 * 3 * 4 + 1, dtype=np.uint8)
    x = np.frombuffer(buf.data, dtype=np.float32, count=24, offset=1).reshape(2, 3, 4)
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.unpool(x, 2)
    assert e.value.status_name == "UPS_STATUS_MISALIGNED" and "aligned" in e.value.message


def test_strided_array_is_explained():
    x = _rand(2, 3, 8)[..., ::2]
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.unpool(x, 2)
    assert e.value.status_name == "UPS_STATUS_NOT_SUPPORTED"
    assert "channels-first" in e.value.message and "contiguous" in e.value.message


def test_mixed_layouts_are_explained():
    x = _rand(1, 5, 5, 4).transpose(0, 3, 1, 2)  # channels-last (N, C=4, 5, 5)
    w = _rand(4, 2, 3, 3)  # channels-first
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.conv_transpose(x, w)
    assert "layout" in e.value.message and "x is channels-last" in e.value.message


def test_unsupported_dtype_is_explained():
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.unpool(np.zeros((1, 1, 2), dtype=np.int32), 2)
    assert e.value.status_name == "UPS_STATUS_NOT_SUPPORTED" and "dtype" in e.value.message


def test_read_only_output_is_refused():
    out = np.zeros((1, 1, 4))
    out.setflags(write=False)
    with pytest.raises(upsample.UpsampleError, match="read-only"):
        upsample.unpool(np.ones((1, 1, 2)), 2, out=out)


def test_wrong_output_shape():
    with pytest.raises(upsample.UpsampleError, match="expected shape"):
        upsample.unpool(np.ones((1, 1, 2)), 2, out=np.zeros((1, 1, 5)))


def test_not_an_array():
    with pytest.raises(upsample.UpsampleError, match="not an array"):
        upsample.unpool([[[1.0, 2.0]]], 2)


def test_python_error_type_is_runtime_error():
    assert issubclass(upsample.UpsampleError, RuntimeError)
    assert ctypes.sizeof(_abi.upsTensorDesc_t) > 0
