"""The CUDA backend through the Python layer: each op on CUDA tensors against the same op on CPU,
channels-last, the current stream, a caller's workspace, and CUDA graph capture. Skipped (with
the reason) where no CUDA device is usable."""
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import upsample  # noqa: E402
import upsample.torch as ut  # noqa: E402

if not torch.cuda.is_available():
    pytestmark = pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() is False "
                                         "(GPU tests run on a machine with an NVIDIA GPU and driver)")
elif not upsample.cuda_device_available():
    pytestmark = pytest.mark.skip(reason="torch sees a GPU but upsCudaDeviceAvailable() is 0 "
                                         "(the library's CUDA runtime cannot use it)")


def _both(shape, dtype=torch.float32, cl=False):
    x = torch.randn(shape, dtype=dtype)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, x.cuda()


@pytest.mark.parametrize("cl", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_conv_transpose_cuda_vs_cpu(cl, dtype):
    x, xc = _both((2, 4, 7, 6), dtype, cl)
    w, wc = _both((4, 3, 3, 3), dtype, cl)
    b, bc = _both((6,), dtype)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    xc.requires_grad_()
    wc.requires_grad_()
    bc.requires_grad_()
    y = ut.conv_transpose2d(xc, wc, bc, **kw)
    ref = F.conv_transpose2d(x.double(), w.double(), b.double(), **kw)
    tol = 1e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-4
    torch.testing.assert_close(y.double().cpu(), ref, rtol=tol, atol=tol)
    y.sum().backward()
    assert xc.grad.is_cuda and wc.grad.is_cuda and bc.grad.is_cuda


def test_pooling_ops_cuda_vs_cpu():
    x, xc = _both((2, 3, 8, 8))
    p, i = F.max_pool2d(x, 2, return_indices=True)
    pc, ic = ut.max_pool2d_with_indices(xc, 2)
    torch.testing.assert_close(pc.cpu(), p)
    assert torch.equal(ic.cpu(), i)
    torch.testing.assert_close(ut.max_unpool2d(pc, ic, 2).cpu(), F.max_unpool2d(p, i, 2))
    torch.testing.assert_close(ut.nearest_unpool(xc, 2).cpu(), F.interpolate(x, scale_factor=2))
    torch.testing.assert_close(ut.bed_of_nails_unpool(xc, 2).cpu()[..., ::2, ::2], x)


def test_runs_on_the_current_stream():
    s = torch.cuda.Stream()
    x = torch.randn(4, 8, 32, 32, device="cuda")
    w = torch.randn(8, 8, 4, 4, device="cuda")
    with torch.cuda.stream(s):
        y = ut.conv_transpose2d(x, w, stride=2, padding=1)
        assert upsample.get_handle(torch.cuda.current_device()).stream == s.cuda_stream
    s.synchronize()
    torch.testing.assert_close(y, F.conv_transpose2d(x, w, stride=2, padding=1), rtol=1e-4, atol=1e-4)


def test_cuda_graph_capture():
    m = ut.ConvTranspose2d(8, 4, 4, stride=2, padding=1).cuda()
    x = torch.randn(2, 8, 16, 16, device="cuda")
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            m(x)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        y = m(x)
    x.copy_(torch.randn_like(x))
    g.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(y, F.conv_transpose2d(x, m.weight, m.bias, stride=2, padding=1), rtol=1e-4, atol=1e-4)


def test_cpu_and_cuda_mixed_is_explained():
    with pytest.raises(upsample.UpsampleError) as e:
        upsample.conv_transpose(torch.randn(1, 2, 3, 3), torch.randn(2, 2, 3, 3, device="cuda"))
    assert e.value.status_name == "UPS_STATUS_WRONG_BACKEND_MEMORY" and "cuda:0" in e.value.message


def test_workspace_queries_on_cuda():
    x = torch.randn(2, 4, 16, 16, device="cuda")
    w = torch.randn(4, 4, 3, 3, device="cuda")
    assert upsample.conv_transpose_workspace_size(x, w, stride=2) >= 0
    dy = upsample.conv_transpose(x, w, stride=2)
    assert upsample.conv_transpose_backward_weight_workspace_size(x, dy, stride=2) >= 0
