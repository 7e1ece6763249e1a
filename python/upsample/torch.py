"""PyTorch integration: custom ops (forward and backward) with fake kernels and autograd, the
functional API, and nn.Module drop-in replacements.

Every op is a torch.library.custom_op in the `upsample` namespace (torch.ops.upsample.*), with a
register_fake kernel (symbolic shapes: torch.compile(dynamic=True, fullgraph=True) traces through
it) and, for the forward ops, register_autograd. CPU tensors run on the library's reference
backend, CUDA tensors on its CUDA backend on the current stream. Inputs that are neither dense
channels-first nor dense channels-last are made contiguous; channels-last 4-D/5-D inputs stay
channels-last and give channels-last outputs (as PyTorch's own ops do).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from . import _core

__all__ = [
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "unpool", "nearest_unpool", "bed_of_nails_unpool",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "Unpool", "replace_modules",
    "interpolate", "pixel_shuffle", "pixel_unshuffle", "Upsample", "PixelShuffle", "PixelUnshuffle",
]


# --- layout helpers (shared by the real and the fake kernels, so both give the same strides) ------
def _channels_last(t: Tensor) -> bool:
    if t.dim() == 4:
        return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()
    if t.dim() == 5:
        return t.is_contiguous(memory_format=torch.channels_last_3d) and not t.is_contiguous()
    return False


def _fmt(cl: bool, dim: int):
    if not cl:
        return torch.contiguous_format
    return torch.channels_last if dim == 4 else torch.channels_last_3d


def _dense(t: Tensor, cl: bool) -> Tensor:
    return t.contiguous(memory_format=_fmt(cl, t.dim())) if t.dim() in (4, 5) else t.contiguous()


def _new(shape, like: Tensor, cl: bool, dtype=None) -> Tensor:
    shape = list(shape)
    return torch.empty(shape, dtype=dtype or like.dtype, device=like.device,
                       memory_format=_fmt(cl and len(shape) in (4, 5), len(shape)))


def _l(v) -> List[int]:
    return [int(e) for e in v]


# --- unpooling -----------------------------------------------------------------------------------
@torch.library.custom_op("upsample::unpool", mutates_args=())
def _unpool(x: Tensor, scale: Sequence[int], mode: str) -> Tensor:
    cl = _channels_last(x)
    x = _dense(x, cl)
    out = _new([x.shape[0], x.shape[1]] + [s * f for s, f in zip(x.shape[2:], scale)], x, cl)
    return _core.unpool(x, _l(scale), mode, out=out)


@_unpool.register_fake
def _(x, scale, mode):
    return _new([x.shape[0], x.shape[1]] + [s * f for s, f in zip(x.shape[2:], scale)], x, _channels_last(x))


@torch.library.custom_op("upsample::unpool_backward", mutates_args=())
def _unpool_backward(dy: Tensor, scale: Sequence[int], mode: str) -> Tensor:
    cl = _channels_last(dy)
    dy = _dense(dy, cl)
    out = _new([dy.shape[0], dy.shape[1]] + [s // f for s, f in zip(dy.shape[2:], scale)], dy, cl)
    return _core.unpool_backward(dy, _l(scale), mode, out=out)


@_unpool_backward.register_fake
def _(dy, scale, mode):
    return _new([dy.shape[0], dy.shape[1]] + [s // f for s, f in zip(dy.shape[2:], scale)], dy,
                _channels_last(dy))


def _unpool_setup(ctx, inputs, output):
    ctx.scale, ctx.mode = inputs[1], inputs[2]


def _unpool_bwd(ctx, grad):
    return _unpool_backward(grad, ctx.scale, ctx.mode), None, None


def _unpool_backward_setup(ctx, inputs, output):
    ctx.scale, ctx.mode = inputs[1], inputs[2]


def _unpool_backward_bwd(ctx, grad):  # the adjoint of the adjoint: double backward
    return _unpool(grad, ctx.scale, ctx.mode), None, None


_unpool.register_autograd(_unpool_bwd, setup_context=_unpool_setup)
_unpool_backward.register_autograd(_unpool_backward_bwd, setup_context=_unpool_backward_setup)


# --- max-pool (with indices) ------------------------------------------------------------------------
def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out = out - 1
    return out


@torch.library.custom_op("upsample::max_pool", mutates_args=())
def _max_pool(x: Tensor, kernel_size: Sequence[int], stride: Sequence[int], padding: Sequence[int],
              dilation: Sequence[int], ceil_mode: bool) -> Tuple[Tensor, Tensor]:
    cl = _channels_last(x)
    x = _dense(x, cl)
    shape = [x.shape[0], x.shape[1]] + [_pool_out(*a, ceil_mode) for a in
                                        zip(x.shape[2:], kernel_size, stride, padding, dilation)]
    y, i = _new(shape, x, cl), _new(shape, x, cl, torch.int64)
    return _core.max_pool(x, _l(kernel_size), _l(stride), _l(padding), _l(dilation), ceil_mode, out=y, indices=i)


@_max_pool.register_fake
def _(x, kernel_size, stride, padding, dilation, ceil_mode):
    cl = _channels_last(x)
    shape = [x.shape[0], x.shape[1]] + [_pool_out(*a, ceil_mode) for a in
                                        zip(x.shape[2:], kernel_size, stride, padding, dilation)]
    return _new(shape, x, cl), _new(shape, x, cl, torch.int64)


@torch.library.custom_op("upsample::max_pool_backward", mutates_args=())
def _max_pool_backward(dy: Tensor, indices: Tensor, input_size: Sequence[int], kernel_size: Sequence[int],
                       stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                       ceil_mode: bool) -> Tensor:
    cl = _channels_last(dy)
    dy, indices = _dense(dy, cl), _dense(indices, cl)
    out = _new(input_size, dy, cl)
    return _core.max_pool_backward(dy, indices, _l(input_size), _l(kernel_size), _l(stride), _l(padding),
                                   _l(dilation), ceil_mode, out=out)


@_max_pool_backward.register_fake
def _(dy, indices, input_size, kernel_size, stride, padding, dilation, ceil_mode):
    return _new(input_size, dy, _channels_last(dy))


def _max_pool_setup(ctx, inputs, output):
    x, ctx.kernel_size, ctx.stride, ctx.padding, ctx.dilation, ctx.ceil_mode = inputs
    ctx.input_size = list(x.shape)
    ctx.mark_non_differentiable(output[1])
    ctx.save_for_backward(output[1])


def _max_pool_bwd(ctx, grad_y, grad_indices):
    (indices,) = ctx.saved_tensors
    dx = _max_pool_backward(grad_y, indices, ctx.input_size, ctx.kernel_size, ctx.stride, ctx.padding,
                            ctx.dilation, ctx.ceil_mode)
    return dx, None, None, None, None, None


_max_pool.register_autograd(_max_pool_bwd, setup_context=_max_pool_setup)


# --- max-unpool ---------------------------------------------------------------------------------------
def _unpool_default(x, kernel_size, stride, padding):
    return [(n - 1) * s - 2 * p + k for n, k, s, p in zip(x.shape[2:], kernel_size, stride, padding)]


@torch.library.custom_op("upsample::max_unpool", mutates_args=())
def _max_unpool(x: Tensor, indices: Tensor, kernel_size: Sequence[int], stride: Sequence[int],
                padding: Sequence[int], output_size: Optional[Sequence[int]]) -> Tensor:
    cl = _channels_last(x)
    x, indices = _dense(x, cl), _dense(indices, cl)
    spatial = _l(output_size) if output_size is not None else _unpool_default(x, kernel_size, stride, padding)
    out = _new([x.shape[0], x.shape[1]] + spatial, x, cl)
    return _core.max_unpool(x, indices, _l(kernel_size), _l(stride), _l(padding),
                            None if output_size is None else _l(output_size), out=out)


@_max_unpool.register_fake
def _(x, indices, kernel_size, stride, padding, output_size):
    spatial = list(output_size) if output_size is not None else _unpool_default(x, kernel_size, stride, padding)
    return _new([x.shape[0], x.shape[1]] + spatial, x, _channels_last(x))


@torch.library.custom_op("upsample::max_unpool_backward", mutates_args=())
def _max_unpool_backward(dy: Tensor, indices: Tensor, kernel_size: Sequence[int], stride: Sequence[int],
                         padding: Sequence[int]) -> Tensor:
    cl = _channels_last(dy)
    dy, indices = _dense(dy, cl), _dense(indices, cl)
    out = _new(indices.shape, dy, cl)
    return _core.max_unpool_backward(dy, indices, _l(kernel_size), _l(stride), _l(padding), out=out)


@_max_unpool_backward.register_fake
def _(dy, indices, kernel_size, stride, padding):
    return _new(indices.shape, dy, _channels_last(dy))


def _max_unpool_setup(ctx, inputs, output):
    _, indices, ctx.kernel_size, ctx.stride, ctx.padding, _ = inputs
    ctx.save_for_backward(indices)


def _max_unpool_bwd(ctx, grad):
    (indices,) = ctx.saved_tensors
    return (_max_unpool_backward(grad, indices, ctx.kernel_size, ctx.stride, ctx.padding),
            None, None, None, None, None)


_max_unpool.register_autograd(_max_unpool_bwd, setup_context=_max_unpool_setup)


# --- transposed convolution ----------------------------------------------------------------------------
def _ct_geometry(stride, padding, output_padding, groups, dilation, algorithm, deterministic):
    return dict(stride=_l(stride), padding=_l(padding), output_padding=_l(output_padding), groups=int(groups),
                dilation=_l(dilation), algorithm=algorithm, deterministic=deterministic)


def _ct_out(x, w, stride, padding, output_padding, groups, dilation):
    return [x.shape[0], w.shape[1] * groups] + [
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)]


@torch.library.custom_op("upsample::conv_transpose", mutates_args=())
def _conv_transpose(x: Tensor, weight: Tensor, bias: Optional[Tensor], stride: Sequence[int],
                    padding: Sequence[int], output_padding: Sequence[int], groups: int,
                    dilation: Sequence[int], algorithm: str, deterministic: bool) -> Tensor:
    cl = _channels_last(x)
    x, weight = _dense(x, cl), _dense(weight, cl)
    if bias is not None:
        bias = bias.contiguous()
    out = _new(_ct_out(x, weight, stride, padding, output_padding, groups, dilation), x, cl)
    return _core.conv_transpose(x, weight, bias, out=out, **_ct_geometry(
        stride, padding, output_padding, groups, dilation, algorithm, deterministic))


@_conv_transpose.register_fake
def _(x, weight, bias, stride, padding, output_padding, groups, dilation, algorithm, deterministic):
    return _new(_ct_out(x, weight, stride, padding, output_padding, groups, dilation), x, _channels_last(x))


def _ct_in(dy, w, stride, padding, output_padding, dilation):
    return [dy.shape[0], w.shape[0]] + [
        (o - 1 - op + 2 * p - d * (k - 1)) // s + 1
        for o, k, s, p, op, d in zip(dy.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)]


@torch.library.custom_op("upsample::conv_transpose_backward_data", mutates_args=())
def _conv_transpose_backward_data(dy: Tensor, weight: Tensor, stride: Sequence[int], padding: Sequence[int],
                                  output_padding: Sequence[int], groups: int, dilation: Sequence[int],
                                  algorithm: str, deterministic: bool) -> Tensor:
    cl = _channels_last(dy)
    dy, weight = _dense(dy, cl), _dense(weight, cl)
    out = _new(_ct_in(dy, weight, stride, padding, output_padding, dilation), dy, cl)
    return _core.conv_transpose_backward_data(dy, weight, out=out, **_ct_geometry(
        stride, padding, output_padding, groups, dilation, algorithm, deterministic))


@_conv_transpose_backward_data.register_fake
def _(dy, weight, stride, padding, output_padding, groups, dilation, algorithm, deterministic):
    return _new(_ct_in(dy, weight, stride, padding, output_padding, dilation), dy, _channels_last(dy))


@torch.library.custom_op("upsample::conv_transpose_backward_weight", mutates_args=())
def _conv_transpose_backward_weight(x: Tensor, dy: Tensor, weight_size: Sequence[int], stride: Sequence[int],
                                    padding: Sequence[int], output_padding: Sequence[int], groups: int,
                                    dilation: Sequence[int], algorithm: str, deterministic: bool) -> Tensor:
    cl = _channels_last(x)
    x, dy = _dense(x, cl), _dense(dy, cl)
    out = _new(weight_size, x, cl)
    return _core.conv_transpose_backward_weight(x, dy, out=out, **_ct_geometry(
        stride, padding, output_padding, groups, dilation, algorithm, deterministic))


@_conv_transpose_backward_weight.register_fake
def _(x, dy, weight_size, stride, padding, output_padding, groups, dilation, algorithm, deterministic):
    return _new(weight_size, x, _channels_last(x))


@torch.library.custom_op("upsample::conv_transpose_backward_bias", mutates_args=())
def _conv_transpose_backward_bias(dy: Tensor, algorithm: str, deterministic: bool) -> Tensor:
    cl = _channels_last(dy)
    dy = _dense(dy, cl)
    return _core.conv_transpose_backward_bias(dy, out=dy.new_empty([dy.shape[1]]), algorithm=algorithm,
                                              deterministic=deterministic)


@_conv_transpose_backward_bias.register_fake
def _(dy, algorithm, deterministic):
    return dy.new_empty([dy.shape[1]])


def _ct_setup(ctx, inputs, output):
    x, w, bias, *geometry = inputs
    ctx.geometry = geometry
    ctx.has_bias = bias is not None
    ctx.save_for_backward(x, w)


def _ct_bwd(ctx, grad):
    x, w = ctx.saved_tensors
    stride, padding, output_padding, groups, dilation, algorithm, deterministic = ctx.geometry
    dx = dw = db = None
    if ctx.needs_input_grad[0]:
        dx = _conv_transpose_backward_data(grad, w, stride, padding, output_padding, groups, dilation,
                                           algorithm, deterministic)
    if ctx.needs_input_grad[1]:
        dw = _conv_transpose_backward_weight(x, grad, list(w.shape), stride, padding, output_padding, groups,
                                             dilation, algorithm, deterministic)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        db = _conv_transpose_backward_bias(grad, algorithm, deterministic)
    return (dx, dw, db) + (None,) * 7


_conv_transpose.register_autograd(_ct_bwd, setup_context=_ct_setup)


# --- interpolation -----------------------------------------------------------------------------------------
def _interp_out(x, size, scale_factor):
    if size is not None:
        return [x.shape[0], x.shape[1]] + list(size)
    return [x.shape[0], x.shape[1]] + [torch.sym_int(torch.sym_float(n) * f) for n, f in zip(x.shape[2:], scale_factor)]


@torch.library.custom_op("upsample::interpolate", mutates_args=())
def _interpolate(x: Tensor, size: Optional[Sequence[int]], scale_factor: Optional[Sequence[float]], mode: str,
                 align_corners: bool, antialias: bool, recompute_scale_factor: bool) -> Tensor:
    cl = _channels_last(x)
    x = _dense(x, cl)
    out = _new(_interp_out(x, size, scale_factor), x, cl)
    return _core.interpolate(x, None if size is None else _l(size), scale_factor, mode, align_corners, antialias,
                             recompute_scale_factor, out=out)


@_interpolate.register_fake
def _(x, size, scale_factor, mode, align_corners, antialias, recompute_scale_factor):
    return _new(_interp_out(x, size, scale_factor), x, _channels_last(x))


@torch.library.custom_op("upsample::interpolate_backward", mutates_args=())
def _interpolate_backward(dy: Tensor, input_size: Sequence[int], size: Optional[Sequence[int]],
                          scale_factor: Optional[Sequence[float]], mode: str, align_corners: bool, antialias: bool,
                          recompute_scale_factor: bool) -> Tensor:
    cl = _channels_last(dy)
    dy = _dense(dy, cl)
    out = _new(input_size, dy, cl)
    return _core.interpolate_backward(dy, _l(input_size), None if size is None else _l(size), scale_factor, mode,
                                      align_corners, antialias, recompute_scale_factor, out=out)


@_interpolate_backward.register_fake
def _(dy, input_size, size, scale_factor, mode, align_corners, antialias, recompute_scale_factor):
    return _new(input_size, dy, _channels_last(dy))


def _interpolate_setup(ctx, inputs, output):
    x, *ctx.args = inputs
    ctx.input_size = list(x.shape)


def _interpolate_bwd(ctx, grad):
    return (_interpolate_backward(grad, ctx.input_size, *ctx.args),) + (None,) * 6


_interpolate.register_autograd(_interpolate_bwd, setup_context=_interpolate_setup)


# --- pixel shuffle -----------------------------------------------------------------------------------------
def _ps_out(x, factor, direction):
    k = x.dim() - 2
    if direction == "shuffle":
        return [x.shape[0], x.shape[1] // factor ** k] + [n * factor for n in x.shape[2:]]
    return [x.shape[0], x.shape[1] * factor ** k] + [n // factor for n in x.shape[2:]]


def _inverse(direction):
    return "unshuffle" if direction == "shuffle" else "shuffle"


@torch.library.custom_op("upsample::pixel_shuffle", mutates_args=())
def _pixel_shuffle(x: Tensor, factor: int, direction: str) -> Tensor:
    cl = _channels_last(x)
    x = _dense(x, cl)
    out = _new(_ps_out(x, factor, direction), x, cl)
    return _core._pixel_shuffle(x, factor, direction, out, "pixel_shuffle")


@_pixel_shuffle.register_fake
def _(x, factor, direction):
    return _new(_ps_out(x, factor, direction), x, _channels_last(x))


@torch.library.custom_op("upsample::pixel_shuffle_backward", mutates_args=())
def _pixel_shuffle_backward(dy: Tensor, factor: int, direction: str) -> Tensor:
    cl = _channels_last(dy)
    dy = _dense(dy, cl)
    out = _new(_ps_out(dy, factor, _inverse(direction)), dy, cl)
    return _core.pixel_shuffle_backward(dy, factor, direction, out=out)


@_pixel_shuffle_backward.register_fake
def _(dy, factor, direction):
    return _new(_ps_out(dy, factor, _inverse(direction)), dy, _channels_last(dy))


def _ps_setup(ctx, inputs, output):
    ctx.factor, ctx.direction = inputs[1], inputs[2]


def _ps_bwd(ctx, grad):
    return _pixel_shuffle_backward(grad, ctx.factor, ctx.direction), None, None


_pixel_shuffle.register_autograd(_ps_bwd, setup_context=_ps_setup)


# --- functional API ---------------------------------------------------------------------------------------
def _n(v, d, name) -> List[int]:
    if isinstance(v, int):
        return [v] * d
    v = [int(e) for e in v]
    if len(v) == 1:
        return v * d
    if len(v) != d:
        raise ValueError("%s: expected an int or %d ints, got %r" % (name, d, v))
    return v


def _batched(x: Tensor, d: int, name: str):
    if x.dim() == d + 1:
        return x.unsqueeze(0), True
    if x.dim() != d + 2:
        raise ValueError("%s: expected a %dD (unbatched) or %dD (batched) input, got %dD"
                         % (name, d + 1, d + 2, x.dim()))
    return x, False


def _deterministic(deterministic: bool) -> bool:
    return bool(deterministic) or torch.are_deterministic_algorithms_enabled()


def _conv_transpose_nd(d, input, weight, bias, stride, padding, output_padding, groups, dilation,
                       algorithm, deterministic):
    x, unbatched = _batched(input, d, "conv_transpose%dd" % d)
    y = _conv_transpose(x, weight, bias, _n(stride, d, "stride"), _n(padding, d, "padding"),
                        _n(output_padding, d, "output_padding"), int(groups), _n(dilation, d, "dilation"),
                        algorithm, _deterministic(deterministic))
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                     algorithm="auto", deterministic=False):
    """torch.nn.functional.conv_transpose1d on upsample's kernels (same arguments)."""
    return _conv_transpose_nd(1, input, weight, bias, stride, padding, output_padding, groups, dilation,
                              algorithm, deterministic)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                     algorithm="auto", deterministic=False):
    """torch.nn.functional.conv_transpose2d on upsample's kernels (same arguments)."""
    return _conv_transpose_nd(2, input, weight, bias, stride, padding, output_padding, groups, dilation,
                              algorithm, deterministic)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                     algorithm="auto", deterministic=False):
    """torch.nn.functional.conv_transpose3d on upsample's kernels (same arguments)."""
    return _conv_transpose_nd(3, input, weight, bias, stride, padding, output_padding, groups, dilation,
                              algorithm, deterministic)


def _max_unpool_nd(d, input, indices, kernel_size, stride, padding, output_size):
    k = _n(kernel_size, d, "kernel_size")
    s = k if stride is None else _n(stride, d, "stride")
    x, unbatched = _batched(input, d, "max_unpool%dd" % d)
    if unbatched:
        indices = indices.unsqueeze(0)
    if output_size is not None:
        output_size = list(output_size)
        if len(output_size) == d + 2 or (unbatched and len(output_size) == d + 1):
            output_size = output_size[-d:]
        if len(output_size) != d:
            raise ValueError("output_size: expected %d, %d or %d values, got %r" % (d, d + 1, d + 2, output_size))
    y = _max_unpool(x, indices, k, s, _n(padding, d, "padding"), output_size)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool1d on upsample's kernels."""
    return _max_unpool_nd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool2d on upsample's kernels."""
    return _max_unpool_nd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool3d on upsample's kernels."""
    return _max_unpool_nd(3, input, indices, kernel_size, stride, padding, output_size)


def _max_pool_nd(d, input, kernel_size, stride, padding, dilation, ceil_mode):
    k = _n(kernel_size, d, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _n(stride, d, "stride")
    x, unbatched = _batched(input, d, "max_pool%dd" % d)
    y, i = _max_pool(x, k, s, _n(padding, d, "padding"), _n(dilation, d, "dilation"), bool(ceil_mode))
    return (y.squeeze(0), i.squeeze(0)) if unbatched else (y, i)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """torch.nn.functional.max_pool1d(..., return_indices=True): (values, indices)."""
    return _max_pool_nd(1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """torch.nn.functional.max_pool2d(..., return_indices=True): (values, indices)."""
    return _max_pool_nd(2, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """torch.nn.functional.max_pool3d(..., return_indices=True): (values, indices)."""
    return _max_pool_nd(3, input, kernel_size, stride, padding, dilation, ceil_mode)


def unpool(input, scale_factor, mode="nearest"):
    """Nearest-neighbour ('nearest': F.interpolate(mode='nearest') for integer scales) or
    bed-of-nails ('bed_of_nails': each value at the top-left of its cell, zeros elsewhere)
    unpooling of an (N, C, *spatial) tensor by integer scale factors."""
    if mode not in ("nearest", "bed_of_nails"):
        raise ValueError("mode: expected 'nearest' or 'bed_of_nails', got %r" % (mode,))
    d = input.dim() - 2
    if d < 1 or d > 3:
        raise ValueError("unpool: expected a 3D, 4D or 5D (N, C, *spatial) input, got %dD" % input.dim())
    return _unpool(input, _n(scale_factor, d, "scale_factor"), mode)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate on upsample's kernels (same arguments; modes 'nearest',
    'nearest-exact', 'linear', 'bilinear', 'trilinear', 'bicubic', 'area')."""
    d = input.dim() - 2
    if size is not None:
        size = _n(size, d, "size")
    if scale_factor is not None:
        scale_factor = ([float(scale_factor)] * d if isinstance(scale_factor, (int, float))
                        else [float(v) for v in scale_factor])
    return _interpolate(input, size, scale_factor, mode, bool(align_corners), bool(antialias),
                        bool(recompute_scale_factor))


def pixel_shuffle(input, upscale_factor):
    """torch.nn.functional.pixel_shuffle on upsample's kernels (4-D, or 5-D by the same rule)."""
    return _pixel_shuffle(input, int(upscale_factor), "shuffle")


def pixel_unshuffle(input, downscale_factor):
    """torch.nn.functional.pixel_unshuffle on upsample's kernels (4-D, or 5-D by the same rule)."""
    return _pixel_shuffle(input, int(downscale_factor), "unshuffle")


def nearest_unpool(input, scale_factor):
    return unpool(input, scale_factor, "nearest")


def bed_of_nails_unpool(input, scale_factor):
    return unpool(input, scale_factor, "bed_of_nails")


# --- modules --------------------------------------------------------------------------------------------------
class _ConvTransposeMixin:
    _d = 0
    _functional = None

    def _init_upsample(self, algorithm, deterministic):
        if self.padding_mode != "zeros":
            raise ValueError("upsample's ConvTranspose%dd supports padding_mode='zeros' only (as PyTorch's)" % self._d)
        self.algorithm = algorithm
        self.deterministic = deterministic

    def forward(self, input: Tensor, output_size: Optional[List[int]] = None) -> Tensor:
        output_padding = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size,
                                              self._d, self.dilation)
        return type(self)._functional(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                      self.groups, self.dilation, algorithm=self.algorithm,
                                      deterministic=self.deterministic)

    @classmethod
    def from_torch(cls, module, algorithm="auto", deterministic=False):
        """An upsample module with module's configuration, sharing its parameters."""
        m = cls(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
                module.output_padding, module.groups, module.bias is not None, module.dilation,
                module.padding_mode, device="meta", algorithm=algorithm, deterministic=deterministic)
        m.weight = module.weight
        m.bias = module.bias
        m.train(module.training)
        return m

    def extra_repr(self):
        return super().extra_repr() + ", algorithm=%r, deterministic=%r" % (self.algorithm, self.deterministic)


class ConvTranspose1d(_ConvTransposeMixin, nn.ConvTranspose1d):
    """nn.ConvTranspose1d on upsample's kernels: same arguments, parameters and state_dict, plus
    algorithm ('auto', 'gather', 'scatter_atomic') and deterministic."""
    _d = 1
    _functional = staticmethod(conv_transpose1d)

    def __init__(self, *args, algorithm="auto", deterministic=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_upsample(algorithm, deterministic)


class ConvTranspose2d(_ConvTransposeMixin, nn.ConvTranspose2d):
    """nn.ConvTranspose2d on upsample's kernels: same arguments, parameters and state_dict, plus
    algorithm ('auto', 'gather', 'scatter_atomic') and deterministic."""
    _d = 2
    _functional = staticmethod(conv_transpose2d)

    def __init__(self, *args, algorithm="auto", deterministic=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_upsample(algorithm, deterministic)


class ConvTranspose3d(_ConvTransposeMixin, nn.ConvTranspose3d):
    """nn.ConvTranspose3d on upsample's kernels: same arguments, parameters and state_dict, plus
    algorithm ('auto', 'gather', 'scatter_atomic') and deterministic."""
    _d = 3
    _functional = staticmethod(conv_transpose3d)

    def __init__(self, *args, algorithm="auto", deterministic=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_upsample(algorithm, deterministic)


class MaxUnpool1d(nn.MaxUnpool1d):
    """nn.MaxUnpool1d on upsample's kernels."""

    def forward(self, input, indices, output_size=None):
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool2d(nn.MaxUnpool2d):
    """nn.MaxUnpool2d on upsample's kernels."""

    def forward(self, input, indices, output_size=None):
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool3d(nn.MaxUnpool3d):
    """nn.MaxUnpool3d on upsample's kernels."""

    def forward(self, input, indices, output_size=None):
        return max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class Unpool(nn.Module):
    """Nearest-neighbour or bed-of-nails unpooling by integer scale factors (1-D, 2-D or 3-D,
    from the input's rank). Unpool(2) is nn.Upsample(scale_factor=2, mode='nearest')."""

    def __init__(self, scale_factor, mode="nearest"):
        super().__init__()
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, input):
        return unpool(input, self.scale_factor, self.mode)

    def extra_repr(self):
        return "scale_factor=%r, mode=%r" % (self.scale_factor, self.mode)


class Upsample(nn.Upsample):
    """nn.Upsample on upsample's interpolation kernels (same arguments)."""

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)


class PixelShuffle(nn.PixelShuffle):
    """nn.PixelShuffle on upsample's kernels."""

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)


class PixelUnshuffle(nn.PixelUnshuffle):
    """nn.PixelUnshuffle on upsample's kernels."""

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)


_SWAP = {nn.ConvTranspose1d: ConvTranspose1d, nn.ConvTranspose2d: ConvTranspose2d,
         nn.ConvTranspose3d: ConvTranspose3d, nn.MaxUnpool1d: MaxUnpool1d, nn.MaxUnpool2d: MaxUnpool2d,
         nn.MaxUnpool3d: MaxUnpool3d}


def replace_modules(model: nn.Module, algorithm="auto", deterministic=False) -> nn.Module:
    """Swaps, in place, every nn.ConvTranspose{1,2,3}d and nn.MaxUnpool{1,2,3}d of model for
    upsample's (sharing the parameters: the state_dict is unchanged); returns model."""
    for name, child in list(model.named_children()):
        cls = _SWAP.get(type(child))
        if cls is not None and cls.__name__.startswith("ConvTranspose"):
            setattr(model, name, cls.from_torch(child, algorithm, deterministic))
        elif cls is not None:
            setattr(model, name, cls(child.kernel_size, child.stride, child.padding))
        else:
            replace_modules(child, algorithm, deterministic)
    return model
