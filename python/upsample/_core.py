"""The framework-neutral layer: arrays in, the C library's ops on them, arrays out.

Arrays are taken zero-copy from torch tensors (read directly), DLPack producers (__dlpack__:
NumPy, CuPy, JAX, ...), __cuda_array_interface__ (CuPy, Numba) and __array_interface__ (NumPy).
Shapes follow PyTorch: (N, C, *spatial) for activations, (C_in, C_out/groups, *kernel) for
transposed-convolution weights. The memory layout is read from the strides: dense row-major is
channels-first, dense (N, *spatial, C) order is channels-last (torch.channels_last); every operand
of one call must share one. Host arrays run on the REFERENCE backend, CUDA arrays on the CUDA
backend of their device, on the caller's current stream (torch's or CuPy's; the legacy default
stream otherwise). One handle per (thread, device) is created on first use and kept.
"""
import ctypes
import sys
import threading
from ctypes import byref, c_int, c_int64, c_size_t, c_void_p

from . import _abi
from ._lib import cudart, lib

__all__ = [
    "UpsampleError", "Handle", "get_handle", "version", "status_name", "last_error",
    "cuda_device_available", "tensor_desc", "element_count", "byte_size",
    "unpool_desc", "pool_desc", "conv_transpose_desc",
    "unpool_output_desc", "unpool", "unpool_backward_output_desc", "unpool_backward",
    "max_pool_output_desc", "max_pool", "max_pool_backward",
    "max_unpool_output_desc", "max_unpool_workspace_size", "max_unpool",
    "max_unpool_backward_output_desc", "max_unpool_backward_workspace_size", "max_unpool_backward",
    "conv_transpose_output_desc", "conv_transpose_workspace_size", "conv_transpose_choose_algorithm",
    "conv_transpose_plan_algorithm",
    "conv_transpose", "conv_transpose_backward_data_output_desc", "conv_transpose_backward_data",
    "conv_transpose_backward_weight_output_desc", "conv_transpose_backward_weight_workspace_size",
    "conv_transpose_backward_weight_choose_algorithm", "conv_transpose_backward_weight",
    "conv_transpose_backward_bias_workspace_size", "conv_transpose_backward_bias",
    "interpolate_desc", "interpolate_output_desc", "interpolate", "interpolate_backward",
    "pixel_shuffle_desc", "pixel_shuffle_output_desc", "pixel_shuffle", "pixel_unshuffle",
    "pixel_shuffle_backward",
]

_STATUS_NAMES = {v: k for k, v in _abi.STATUS.items()}
_DTYPE_NAMES = {0: "float32", 1: "float64", 2: "float16", 3: "bfloat16", 4: "int64", 5: "int32"}
_LAYOUT_NAMES = {0: "channels-first", 1: "channels-last"}
_ALGORITHMS = {"auto": _abi.UPS_ALGO_AUTO, "scatter_atomic": _abi.UPS_ALGO_SCATTER_ATOMIC,
               "gather": _abi.UPS_ALGO_GATHER, "implicit_gemm": _abi.UPS_ALGO_IMPLICIT_GEMM}
_ALGORITHM_NAMES = {v: k for k, v in _ALGORITHMS.items()}
_MODES = {"nearest": _abi.UPS_UNPOOL_NEAREST, "bed_of_nails": _abi.UPS_UNPOOL_BED_OF_NAILS}
_ITEMSIZE = {0: 4, 1: 8, 2: 2, 3: 2, 4: 8, 5: 4}


class UpsampleError(RuntimeError):
    """A failed call: `status` (int), `status_name` ("UPS_STATUS_..."), `message` (the library's
    upsGetLastErrorString(), or the Python layer's own explanation), `function` (what failed)."""

    def __init__(self, status, message, function=""):
        self.status = int(status)
        self.status_name = _STATUS_NAMES.get(self.status, "UPS_STATUS_%d" % self.status)
        self.message = message
        self.function = function
        text = message if message.startswith(self.status_name) else "%s: %s" % (self.status_name, message)
        super().__init__("%s%s" % (function + ": " if function else "", text))


def _fail(status_name, message, function=""):
    raise UpsampleError(_abi.STATUS[status_name], message, function)


def _check(status, function):
    if status != _abi.UPS_STATUS_SUCCESS:
        raise UpsampleError(status, last_error(), function)


def version():
    """The library's version as (major, minor, patch)."""
    v = lib.upsGetVersion()
    return (v // 10000, v // 100 % 100, v % 100)


def status_name(status):
    return lib.upsGetStatusName(int(status)).decode()


def last_error():
    return lib.upsGetLastErrorString().decode()


def cuda_device_available():
    return bool(lib.upsCudaDeviceAvailable())


# --- descriptors ----------------------------------------------------------------------------------
def _new_struct(cls):
    s = cls()
    if "struct_size" in [f[0] for f in cls._fields_]:
        s.struct_size = ctypes.sizeof(cls)
    return s


def _tuple(value, d, name):
    if isinstance(value, int) or hasattr(value, "__index__"):
        return (int(value),) * d
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * d
    if len(value) != d:
        _fail("UPS_STATUS_BAD_PARAMETER", "%s: expected %d values (one per spatial axis), got %r"
              % (name, d, value))
    return value


def _i64s(values):
    return (c_int64 * _abi.UPS_MAX_SPATIAL_DIMS)(*(list(values) + [0] * (_abi.UPS_MAX_SPATIAL_DIMS - len(values))))


def tensor_desc(dtype, layout, n, c, spatial):
    """upsTensorDescInit. dtype, layout: the _abi enum values; spatial: outermost first."""
    d = _new_struct(_abi.upsTensorDesc_t)
    spatial = list(spatial)
    _check(lib.upsTensorDescInitSized(byref(d), ctypes.sizeof(d), dtype, layout, len(spatial), n, c,
                                      (c_int64 * max(1, len(spatial)))(*spatial)), "upsTensorDescInitSized")
    return d


def element_count(desc):
    v = c_int64()
    _check(lib.upsTensorDescElementCount(byref(desc), byref(v)), "upsTensorDescElementCount")
    return v.value


def byte_size(desc):
    v = c_int64()
    _check(lib.upsTensorDescByteSize(byref(desc), byref(v)), "upsTensorDescByteSize")
    return v.value


def _desc_shape(desc):
    return (desc.n, desc.c) + tuple(desc.spatial[: desc.spatial_dims])


def unpool_desc(spatial_dims, scale, mode="nearest"):
    d = _new_struct(_abi.upsUnpoolDesc_t)
    if isinstance(mode, str):
        if mode not in _MODES:
            _fail("UPS_STATUS_BAD_PARAMETER", "mode: expected one of %s, got %r" % (sorted(_MODES), mode))
        mode = _MODES[mode]
    _check(lib.upsUnpoolDescInitSized(byref(d), ctypes.sizeof(d), mode, spatial_dims,
                                      _i64s(_tuple(scale, spatial_dims, "scale"))), "upsUnpoolDescInitSized")
    return d


def pool_desc(spatial_dims, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    d = _new_struct(_abi.upsPoolDesc_t)
    k = _tuple(kernel_size, spatial_dims, "kernel_size")
    st = (k if stride is None or (not isinstance(stride, int) and len(stride) == 0)
          else _tuple(stride, spatial_dims, "stride"))
    _check(lib.upsPoolDescInitSized(byref(d), ctypes.sizeof(d), spatial_dims, _i64s(k), _i64s(st),
                                    _i64s(_tuple(padding, spatial_dims, "padding"))), "upsPoolDescInitSized")
    d.dilation = _i64s(_tuple(dilation, spatial_dims, "dilation"))
    d.ceil_mode = 1 if ceil_mode else 0
    return d


def conv_transpose_desc(spatial_dims, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                        pad_end=None, algorithm="auto", deterministic=False, allow_tf32=False):
    """upsConvTransposeDescInit(Sized) + upsConvTransposeDescSetPadding. padding is PyTorch's
    symmetric padding; with pad_end given, padding is pad_begin and the two may differ.
    algorithm: 'auto', 'gather', 'scatter_atomic', 'implicit_gemm'; allow_tf32: UPS_MATH_ALLOW_TF32."""
    d = _new_struct(_abi.upsConvTransposeDesc_t)
    _check(lib.upsConvTransposeDescInitSized(byref(d), ctypes.sizeof(d), spatial_dims), "upsConvTransposeDescInitSized")
    d.stride = _i64s(_tuple(stride, spatial_dims, "stride"))
    pad = _tuple(padding, spatial_dims, "padding")
    _check(lib.upsConvTransposeDescSetPadding(byref(d), (c_int64 * spatial_dims)(*pad)),
           "upsConvTransposeDescSetPadding")
    if pad_end is not None:
        d.pad_end = _i64s(_tuple(pad_end, spatial_dims, "pad_end"))
    d.output_padding = _i64s(_tuple(output_padding, spatial_dims, "output_padding"))
    d.dilation = _i64s(_tuple(dilation, spatial_dims, "dilation"))
    d.groups = int(groups)
    if isinstance(algorithm, str):
        if algorithm not in _ALGORITHMS:
            _fail("UPS_STATUS_BAD_PARAMETER", "algorithm: expected one of %s, got %r"
                  % (sorted(_ALGORITHMS), algorithm))
        algorithm = _ALGORITHMS[algorithm]
    d.algorithm = int(algorithm)
    d.deterministic = 1 if deterministic else 0
    d.math_mode = _abi.UPS_MATH_ALLOW_TF32 if allow_tf32 else _abi.UPS_MATH_DEFAULT
    return d


# --- arrays ---------------------------------------------------------------------------------------
class _View:
    """A zero-copy view of an array argument: data pointer, shape, element strides, dtype, device
    (None = host, else the CUDA device index), and what must stay alive while the call runs."""
    __slots__ = ("name", "obj", "ptr", "shape", "strides", "dtype", "device", "keep", "framework",
                 "readonly")

    @property
    def ndim(self):
        return len(self.shape)


def _framework(obj):
    mod = type(obj).__module__.split(".")[0]
    return mod if mod in ("torch", "numpy", "cupy", "jax", "jaxlib") else "other"


_TORCH_DTYPES = None


def _torch_dtype_map():
    global _TORCH_DTYPES
    if _TORCH_DTYPES is None:
        import torch
        _TORCH_DTYPES = {torch.float32: 0, torch.float64: 1, torch.float16: 2, torch.bfloat16: 3,
                         torch.int64: 4, torch.int32: 5}
    return _TORCH_DTYPES


_TYPESTR = {"f4": 0, "f8": 1, "f2": 2, "i8": 4, "i4": 5}


def _typestr_dtype(typestr, name):
    if typestr[0] in "<|" or (typestr[0] == "=" and sys.byteorder == "little"):
        code = _TYPESTR.get(typestr[1:])
        if code is not None:
            return code
    _fail("UPS_STATUS_NOT_SUPPORTED", "%s: dtype %r is not supported; expected float32, float64, "
          "float16 or bfloat16 (int64 or int32 for max-pool indices), little-endian" % (name, typestr))


def _dl_dtype(dt, name):
    key = (dt.code, dt.bits, dt.lanes)
    table = {(_abi.kDLFloat, 32, 1): 0, (_abi.kDLFloat, 64, 1): 1, (_abi.kDLFloat, 16, 1): 2,
             (_abi.kDLBfloat, 16, 1): 3, (_abi.kDLInt, 64, 1): 4,
             (_abi.kDLInt, 32, 1): 5}
    if key not in table:
        _fail("UPS_STATUS_NOT_SUPPORTED", "%s: DLPack dtype (code %d, bits %d, lanes %d) is not "
              "supported; expected float32, float64, float16 or bfloat16 (int64 or int32 for max-pool indices)"
              % ((name,) + key))
    return table[key]


_PyCapsule_GetPointer = ctypes.pythonapi.PyCapsule_GetPointer
_PyCapsule_GetPointer.restype = c_void_p
_PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _row_major(shape):
    strides, acc = [], 1
    for e in reversed(shape):
        strides.append(acc)
        acc *= max(int(e), 1)
    return tuple(reversed(strides))


def _consumer_stream(device, framework):
    """The stream this call runs on for a CUDA device: torch's or CuPy's current one."""
    if framework == "torch":
        import torch
        return torch.cuda.current_stream(device).cuda_stream
    if framework == "cupy":
        import cupy
        with cupy.cuda.Device(device):
            return cupy.cuda.get_current_stream().ptr
    return 0  # the legacy default stream


def _view(obj, name, writable=False, stream=None):
    v = _View()
    v.name, v.obj, v.keep, v.framework, v.readonly = name, obj, None, _framework(obj), False
    if v.framework == "torch":
        t = obj
        dt = _torch_dtype_map().get(t.dtype)
        if dt is None:
            _fail("UPS_STATUS_NOT_SUPPORTED", "%s: dtype %s is not supported; expected torch.float32, "
                  "float64, float16 or bfloat16 (int64 or int32 for max-pool indices)" % (name, t.dtype))
        if t.device.type == "cpu":
            v.device = None
        elif t.device.type == "cuda":
            v.device = t.device.index if t.device.index is not None else 0
        else:
            _fail("UPS_STATUS_WRONG_BACKEND_MEMORY", "%s: a tensor on device %r; upsample runs on "
                  "'cpu' (reference backend) and 'cuda' (CUDA backend)" % (name, str(t.device)))
        if writable and t.requires_grad and t.is_leaf and sys.modules["torch"].is_grad_enabled():
            _fail("UPS_STATUS_BAD_PARAMETER", "%s: an output may not be a leaf tensor requiring grad" % name)
        v.ptr, v.shape, v.strides, v.dtype = t.data_ptr(), tuple(t.shape), tuple(t.stride()), dt
        return v
    cai = getattr(obj, "__cuda_array_interface__", None)
    if cai is not None:
        v.dtype = _typestr_dtype(cai["typestr"], name)
        v.ptr, v.readonly = int(cai["data"][0] or 0), bool(cai["data"][1])
        v.shape = tuple(int(s) for s in cai["shape"])
        st = cai.get("strides")
        v.strides = _row_major(v.shape) if st is None else tuple(int(s) // _ITEMSIZE[v.dtype] for s in st)
        if st is not None and any(int(s) % _ITEMSIZE[v.dtype] for s in st):
            _fail("UPS_STATUS_MISALIGNED", "%s: byte strides %r are not multiples of the element size"
                  % (name, tuple(st)))
        v.device = _cai_device(v.ptr)
        if cai.get("stream") not in (None, 0, 1, 2) and stream is None:
            pass  # the producer's stream; the call runs on the consumer stream chosen below
        return _finish_view(v, writable)
    if hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        dev_type, dev_id = obj.__dlpack_device__()
        dev_type = int(dev_type)
        if dev_type in (_abi.kDLCPU, _abi.kDLCUDAHost, _abi.kDLCUDA, _abi.kDLCUDAManaged):
            try:
                if dev_type == _abi.kDLCUDA:
                    s = _consumer_stream(int(dev_id), v.framework) if stream is None else stream
                    capsule = obj.__dlpack__(stream=s if s else 1)
                else:
                    capsule = obj.__dlpack__()
            except (BufferError, TypeError):
                capsule = None  # e.g. a read-only NumPy array: its __array_interface__ follows
            if capsule is not None:
                p = _PyCapsule_GetPointer(capsule, b"dltensor")
                mt = _abi.DLManagedTensor.from_address(p)
                dl = mt.dl_tensor
                v.dtype = _dl_dtype(dl.dtype, name)
                v.shape = tuple(dl.shape[i] for i in range(dl.ndim))
                v.strides = (_row_major(v.shape) if not dl.strides
                             else tuple(dl.strides[i] for i in range(dl.ndim)))
                v.ptr = (dl.data or 0) + dl.byte_offset
                v.device = None if dl.device.device_type in (_abi.kDLCPU, _abi.kDLCUDAHost) \
                    else int(dl.device.device_id)
                v.keep = capsule  # its destructor calls the producer's deleter
                if writable:  # DLPack v0 has no read-only flag: ask the array interface if any
                    ai = getattr(obj, "__array_interface__", None)
                    v.readonly = bool(ai and ai["data"][1])
                return _finish_view(v, writable)
        else:
            _fail("UPS_STATUS_WRONG_BACKEND_MEMORY", "%s: DLPack device type %d is neither host "
                  "memory (reference backend) nor CUDA memory (CUDA backend)" % (name, dev_type))
    ai = getattr(obj, "__array_interface__", None)
    if ai is not None:
        v.dtype = _typestr_dtype(ai["typestr"], name)
        v.ptr, v.readonly = int(ai["data"][0] or 0), bool(ai["data"][1])
        v.shape = tuple(int(s) for s in ai["shape"])
        st = ai.get("strides")
        if st is not None and any(int(s) % _ITEMSIZE[v.dtype] for s in st):
            _fail("UPS_STATUS_MISALIGNED", "%s: byte strides %r are not multiples of the element size"
                  % (name, tuple(st)))
        v.strides = _row_major(v.shape) if st is None else tuple(int(s) // _ITEMSIZE[v.dtype] for s in st)
        if ai.get("offset"):
            v.ptr += int(ai["offset"])
        v.device = None
        return _finish_view(v, writable)
    _fail("UPS_STATUS_NOT_SUPPORTED", "%s: a %s is not an array upsample can read; pass a torch "
          "tensor, or an object with __dlpack__, __cuda_array_interface__ or __array_interface__ "
          "(NumPy, CuPy, JAX)" % (name, type(obj).__name__))


def _cai_device(ptr):
    """The CUDA device of a __cuda_array_interface__ pointer (the current device if unknown)."""
    dev = c_int(0)
    if cudart is not None:
        cudart.cudaGetDevice(byref(dev))
    a = _abi.cudaPointerAttributes()
    if cudart is not None and cudart.cudaPointerGetAttributes(byref(a), c_void_p(ptr)) == 0 and \
            a.type in (_abi.cudaMemoryTypeDevice, _abi.cudaMemoryTypeManaged):
        return a.device
    return dev.value


def _finish_view(v, writable):
    if writable and v.readonly:
        _fail("UPS_STATUS_BAD_PARAMETER", "%s: the output array is read-only" % v.name)
    return v


def _check_alignment(v):
    size = _ITEMSIZE[v.dtype]
    if v.ptr % size:
        _fail("UPS_STATUS_MISALIGNED", "%s: data pointer 0x%x is not aligned to its element size (%d "
              "bytes, %s); copy the array (e.g. np.ascontiguousarray / .clone()) to get an aligned one"
              % (v.name, v.ptr, size, _DTYPE_NAMES[v.dtype]))


def _layouts(v):
    """The layouts (0 channels-first, 1 channels-last) v's strides are dense in."""
    shape, strides = v.shape, v.strides
    if any(s == 0 for s in shape):
        return {0, 1}
    out = set()
    cf = _row_major(shape)
    if all(e == 1 or s == x for e, s, x in zip(shape, strides, cf)):
        out.add(0)
    if len(shape) >= 3:
        perm = [0] + list(range(2, len(shape))) + [1]
        phys = _row_major([shape[i] for i in perm])
        cl = [0] * len(shape)
        for k, i in enumerate(perm):
            cl[i] = phys[k]
        if all(e == 1 or s == x for e, s, x in zip(shape, strides, cl)):
            out.add(1)
    return out


def _layout_hint(v):
    cf = _row_major(v.shape)
    return ("%s: shape %s with element strides %s is neither dense channels-first (strides %s) nor "
            "dense channels-last; make it dense: torch `.contiguous()` or "
            "`.contiguous(memory_format=torch.channels_last)`, NumPy `np.ascontiguousarray`"
            % (v.name, v.shape, v.strides, cf))


def _resolve(views, function, spatial_dims=None):
    """Checks device, dtype, alignment and layout of the array arguments; returns
    (device, layout). Outputs are checked like inputs."""
    views = [v for v in views if v is not None]
    devices = {v.device for v in views}
    if len(devices) > 1:
        _fail("UPS_STATUS_WRONG_BACKEND_MEMORY", "all arrays must be on one device, got %s" % ", ".join(
            "%s on %s" % (v.name, "cpu" if v.device is None else "cuda:%d" % v.device) for v in views),
            function)
    for v in views:
        _check_alignment(v)
    common = {0, 1}
    for v in views:
        if v.name in ("bias", "db"):
            if v.ndim != 1 or (v.shape[0] > 1 and v.strides[0] != 1):
                _fail("UPS_STATUS_NOT_SUPPORTED", "%s: expected a dense 1-D array, got shape %s strides %s"
                      % (v.name, v.shape, v.strides), function)
            continue
        if spatial_dims is not None and v.ndim != spatial_dims + 2:
            _fail("UPS_STATUS_BAD_EXTENT", "%s: expected %d dimensions (N, C and %d spatial), got shape %s"
                  % (v.name, spatial_dims + 2, spatial_dims, v.shape), function)
        ls = _layouts(v)
        if not ls:
            _fail("UPS_STATUS_NOT_SUPPORTED", _layout_hint(v), function)
        common &= ls
    if not common:
        _fail("UPS_STATUS_NOT_SUPPORTED", "the arrays do not share one layout: %s; convert them to one "
              "(torch: .contiguous(memory_format=...))" % ", ".join(
                  "%s is %s" % (v.name, "/".join(_LAYOUT_NAMES[x] for x in sorted(_layouts(v))))
                  for v in views if v.name not in ("bias", "db")), function)
    return devices.pop(), (0 if 0 in common else 1)


def _tdesc(v, layout):
    if v.ndim < 3 or v.ndim > 2 + _abi.UPS_MAX_SPATIAL_DIMS:
        _fail("UPS_STATUS_BAD_EXTENT", "%s: expected 3 to 5 dimensions (N, C, spatial...), got shape %s"
              % (v.name, v.shape))
    return tensor_desc(v.dtype, layout, v.shape[0], v.shape[1], v.shape[2:])


def _empty(template, shape, dtype, layout, device):
    """A new array for an output, of the template's framework, in the given layout."""
    shape = tuple(int(s) for s in shape)
    phys, perm = shape, None
    if layout == 1 and len(shape) >= 3:
        nd = len(shape)
        phys = (shape[0],) + shape[2:] + (shape[1],)
        perm = (0, nd - 1) + tuple(range(1, nd - 1))
    fw = template.framework
    if fw == "torch":
        import torch
        tdt = {v: k for k, v in _torch_dtype_map().items()}[dtype]
        t = torch.empty(phys, dtype=tdt, device=template.obj.device)
        return t.permute(perm) if perm else t
    if fw == "cupy" and device is not None:
        import cupy
        with cupy.cuda.Device(device):
            a = cupy.empty(phys, dtype=_np_dtype(dtype))
        return a.transpose(perm) if perm else a
    if device is None:
        import numpy as np
        a = np.empty(phys, dtype=_np_dtype(dtype))
        return a.transpose(perm) if perm else a
    _fail("UPS_STATUS_NOT_SUPPORTED", "cannot allocate an output like %s (a %s on cuda:%d); pass out="
          % (template.name, type(template.obj).__name__, device))


def _np_dtype(dtype):
    if dtype == 3:
        try:
            import ml_dtypes
            return ml_dtypes.bfloat16
        except ImportError:
            _fail("UPS_STATUS_NOT_SUPPORTED", "bfloat16 output for a NumPy input needs ml_dtypes; pass out=")
    return {0: "float32", 1: "float64", 2: "float16", 4: "int64", 5: "int32"}[dtype]


def _output(out, template, desc, layout, device, name):
    if out is None:
        out = _empty(template, _desc_shape(desc), desc.dtype, layout, device)
    v = _view(out, name, writable=True)
    if v.shape != _desc_shape(desc):
        _fail("UPS_STATUS_SHAPE_MISMATCH", "%s: expected shape %s, got %s" % (name, _desc_shape(desc), v.shape))
    if v.dtype != desc.dtype:
        _fail("UPS_STATUS_NOT_SUPPORTED", "%s: expected dtype %s, got %s"
              % (name, _DTYPE_NAMES.get(desc.dtype, desc.dtype), _DTYPE_NAMES.get(v.dtype, v.dtype)))
    return out, v


# --- handles ----------------------------------------------------------------------------------------
class Handle:
    """An upsHandle_t: upsCreate on construction, upsDestroy on close() / garbage collection."""

    def __init__(self, backend="reference", device=None):
        if isinstance(backend, str):
            backend = {"cuda": _abi.UPS_BACKEND_CUDA, "reference": _abi.UPS_BACKEND_REFERENCE}[backend]
        self._h = c_void_p()
        self.device = device
        self._workspace = None
        with _on_device(device):
            _check(lib.upsCreate(byref(self._h), backend), "upsCreate")

    @property
    def value(self):
        return self._h

    @property
    def backend(self):
        b = c_int()
        _check(lib.upsGetBackend(self._h, byref(b)), "upsGetBackend")
        return b.value

    @property
    def stream(self):
        s = c_void_p()
        _check(lib.upsGetStream(self._h, byref(s)), "upsGetStream")
        return s.value or 0

    @stream.setter
    def stream(self, stream):
        _check(lib.upsSetStream(self._h, c_void_p(int(stream or 0))), "upsSetStream")

    def set_workspace(self, ptr, nbytes, keep=None):
        """upsSetWorkspace; keep: an object owning the memory, held until the next call."""
        _check(lib.upsSetWorkspace(self._h, c_void_p(int(ptr or 0)), int(nbytes)), "upsSetWorkspace")
        self._workspace = keep

    _INDEX_CHECK = {"auto": 0, "sync": 1, "async": 2}

    @property
    def index_check_mode(self):
        """'auto', 'sync' or 'async' (upsGetIndexCheckMode): how a bad max-unpool index is reported."""
        m = c_int()
        _check(lib.upsGetIndexCheckMode(self._h, byref(m)), "upsGetIndexCheckMode")
        return {v: k for k, v in self._INDEX_CHECK.items()}.get(m.value, m.value)

    @index_check_mode.setter
    def index_check_mode(self, mode):
        _check(lib.upsSetIndexCheckMode(self._h, self._INDEX_CHECK.get(mode, mode)), "upsSetIndexCheckMode")

    def query_runtime_error(self, blocking=True, raise_error=True):
        """upsQueryRuntimeError: the first bad index found on the device since the last query.
        Raises UpsampleError for it (raise_error), else returns its status name; returns
        'UPS_STATUS_SUCCESS', or 'UPS_STATUS_NOT_READY' when not blocking and work is pending."""
        st = c_int()
        mode = _abi.UPS_ERRQUERY_BLOCKING if blocking else _abi.UPS_ERRQUERY_NONBLOCKING
        with _on_device(self.device):
            _check(lib.upsQueryRuntimeError(self._h, byref(st), mode), "upsQueryRuntimeError")
        if raise_error and st.value not in (_abi.UPS_STATUS_SUCCESS, _abi.UPS_STATUS_NOT_READY):
            raise UpsampleError(st.value, last_error(), "upsQueryRuntimeError")
        return _STATUS_NAMES.get(st.value, st.value)

    def close(self):
        if self._h and lib is not None:
            try:
                with _on_device(self.device):
                    lib.upsDestroy(self._h)
            except Exception:  # noqa: BLE001 - at interpreter exit
                pass
            self._h = c_void_p()

    __del__ = close


class _on_device:
    def __init__(self, device):
        self.device, self.prev = device, None

    def __enter__(self):
        if self.device is not None and cudart is not None:
            prev = c_int(0)
            cudart.cudaGetDevice(byref(prev))
            if prev.value != self.device:
                self.prev = prev.value
                cudart.cudaSetDevice(self.device)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            cudart.cudaSetDevice(self.prev)


_tls = threading.local()


def get_handle(device=None):
    """This thread's handle for a device: None = the reference backend, k = CUDA device k."""
    handles = getattr(_tls, "handles", None)
    if handles is None:
        handles = _tls.handles = {}
    h = handles.get(device)
    if h is None:
        h = handles[device] = Handle("reference" if device is None else "cuda", device)
    return h


class _Call:
    """Runs one op: the thread's handle for the device, the current stream, the device made current,
    and a caller-allocated workspace (from the arrays' framework) set with upsSetWorkspace."""

    def __init__(self, device, template, function):
        self.device, self.template, self.function = device, template, function
        self.handle = get_handle(device)
        self.ctx = _on_device(device)
        self.ws = None

    def __enter__(self):
        self.ctx.__enter__()
        if self.device is not None:
            self.handle.stream = _consumer_stream(self.device, self.template.framework)
        return self

    def workspace(self, query, *args):
        """Sizes the workspace with query(handle, *args, &bytes) and hands the handle a buffer."""
        nbytes = c_size_t(0)
        _check(query(self.handle.value, *args, byref(nbytes)), query.__name__)
        n = nbytes.value
        if n == 0 or self.device is None:
            return n  # the reference backend needs none
        fw = self.template.framework
        if fw == "torch":
            import torch
            buf = torch.empty(n, dtype=torch.uint8, device="cuda:%d" % self.device)
            ptr = buf.data_ptr()
        elif fw == "cupy":
            import cupy
            buf = cupy.empty(n, dtype="uint8")
            ptr = buf.data.ptr
        else:
            return n  # no framework allocator: the handle allocates and keeps its own
        self.handle.set_workspace(ptr, n, keep=buf)
        self.ws = buf
        return n

    def __call__(self, fn, *args):
        _check(fn(self.handle.value, *args), fn.__name__)

    def __exit__(self, *exc):
        try:
            if self.ws is not None:
                self.handle.set_workspace(None, 0)
        finally:
            self.ctx.__exit__(*exc)


def _p(v):
    return c_void_p(v.ptr) if v is not None else None


def _out_desc(fn, *args):
    d = _new_struct(_abi.upsTensorDesc_t)
    _check(fn(*args, byref(d)), fn.__name__)
    return d


# --- unpooling ----------------------------------------------------------------------------------------
def unpool_output_desc(desc, x_desc):
    return _out_desc(lib.upsUnpoolOutputDesc, byref(desc), byref(x_desc))


def unpool(x, scale, mode="nearest", out=None):
    """Nearest-neighbour or bed-of-nails unpooling by an integer scale per spatial axis."""
    xv = _view(x, "x")
    dev, layout = _resolve([xv], "unpool")
    desc = unpool_desc(xv.ndim - 2, scale, mode)
    xd = _tdesc(xv, layout)
    yd = unpool_output_desc(desc, xd)
    out, yv = _output(out, xv, yd, layout, dev, "out")
    _resolve([xv, yv], "unpool")
    with _Call(dev, xv, "unpool") as c:
        c(lib.upsUnpoolForward, byref(desc), byref(xd), _p(xv), byref(yd), _p(yv))
    return out


def unpool_backward_output_desc(desc, dy_desc):
    return _out_desc(lib.upsUnpoolBackwardOutputDesc, byref(desc), byref(dy_desc))


def unpool_backward(dy, scale, mode="nearest", out=None):
    dyv = _view(dy, "dy")
    dev, layout = _resolve([dyv], "unpool_backward")
    desc = unpool_desc(dyv.ndim - 2, scale, mode)
    dyd = _tdesc(dyv, layout)
    dxd = unpool_backward_output_desc(desc, dyd)
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, dxv], "unpool_backward")
    with _Call(dev, dyv, "unpool_backward") as c:
        c(lib.upsUnpoolBackward, byref(desc), byref(dyd), _p(dyv), byref(dxd), _p(dxv))
    return out


# --- max-pool, max-unpool ---------------------------------------------------------------------------
def max_pool_output_desc(desc, x_desc):
    """(y_desc, indices_desc) of upsMaxPoolOutputDesc."""
    y, i = _new_struct(_abi.upsTensorDesc_t), _new_struct(_abi.upsTensorDesc_t)
    _check(lib.upsMaxPoolOutputDesc(byref(desc), byref(x_desc), byref(y), byref(i)), "upsMaxPoolOutputDesc")
    return y, i


def max_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, out=None, indices=None):
    """PyTorch's max_pool{1,2,3}d(return_indices=True): returns (y, indices). The indices are
    int64 (PyTorch's), or int32 when `indices` is an int32 array to write (half the bytes)."""
    xv = _view(x, "x")
    dev, layout = _resolve([xv], "max_pool")
    desc = pool_desc(xv.ndim - 2, kernel_size, stride, padding, dilation, ceil_mode)
    xd = _tdesc(xv, layout)
    yd, idd = max_pool_output_desc(desc, xd)
    if indices is not None and _view(indices, "indices").dtype == _abi.UPS_DTYPE_I32:
        idd.dtype = _abi.UPS_DTYPE_I32
    out, yv = _output(out, xv, yd, layout, dev, "out")
    indices, iv = _output(indices, xv, idd, layout, dev, "indices")
    _resolve([xv, yv, iv], "max_pool")
    with _Call(dev, xv, "max_pool") as c:
        c(lib.upsMaxPoolForward, byref(desc), byref(xd), _p(xv), byref(yd), _p(yv), byref(idd), _p(iv))
    return out, indices


def max_pool_backward(dy, indices, input_size, kernel_size, stride=None, padding=0, dilation=1,
                      ceil_mode=False, out=None):
    """Gradient of max_pool w.r.t. x; input_size: x's shape (N, C, *spatial)."""
    dyv, iv = _view(dy, "dy"), _view(indices, "indices")
    dev, layout = _resolve([dyv, iv], "max_pool_backward")
    desc = pool_desc(dyv.ndim - 2, kernel_size, stride, padding, dilation, ceil_mode)
    dyd, idd = _tdesc(dyv, layout), _tdesc(iv, layout)
    input_size = tuple(int(s) for s in input_size)
    dxd = tensor_desc(dyv.dtype, layout, input_size[0], input_size[1], input_size[2:])
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, iv, dxv], "max_pool_backward")
    with _Call(dev, dyv, "max_pool_backward") as c:
        c(lib.upsMaxPoolBackward, byref(desc), byref(dyd), _p(dyv), byref(idd), _p(iv), byref(dxd), _p(dxv))
    return out


def _unpool_size(output_size, d):
    if output_size is None:
        return None
    output_size = [int(s) for s in output_size]
    if len(output_size) == d + 2:
        output_size = output_size[2:]
    if len(output_size) != d:
        _fail("UPS_STATUS_BAD_PARAMETER", "output_size: expected %d or %d values, got %r"
              % (d, d + 2, output_size))
    return (c_int64 * d)(*output_size)


def max_unpool_output_desc(desc, x_desc, output_size=None):
    os_ = _unpool_size(output_size, desc.spatial_dims)
    return _out_desc(lib.upsMaxUnpoolOutputDesc, byref(desc), byref(x_desc), os_)


def _pool_arrays_desc(x, name, kernel_size, stride, padding, extra=()):
    xv = _view(x, name)
    extra = [_view(a, n) for a, n in extra]
    dev, layout = _resolve([xv] + extra, name)
    desc = pool_desc(xv.ndim - 2, kernel_size, stride, padding)
    return xv, extra, dev, layout, desc


def max_unpool_workspace_size(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """upsMaxUnpoolWorkspaceSize for these arrays on their device's handle."""
    xv, (iv,), dev, layout, desc = _pool_arrays_desc(x, "x", kernel_size, stride, padding, [(indices, "indices")])
    xd = _tdesc(xv, layout)
    yd = max_unpool_output_desc(desc, xd, output_size)
    n = c_size_t()
    with _on_device(dev):
        _check(lib.upsMaxUnpoolWorkspaceSize(get_handle(dev).value, byref(desc), byref(xd), byref(yd), byref(n)),
               "upsMaxUnpoolWorkspaceSize")
    return n.value


def max_unpool(x, indices, kernel_size, stride=None, padding=0, output_size=None, out=None):
    """PyTorch's max_unpool{1,2,3}d."""
    xv, (iv,), dev, layout, desc = _pool_arrays_desc(x, "x", kernel_size, stride, padding, [(indices, "indices")])
    xd, idd = _tdesc(xv, layout), _tdesc(iv, layout)
    yd = max_unpool_output_desc(desc, xd, output_size)
    out, yv = _output(out, xv, yd, layout, dev, "out")
    _resolve([xv, iv, yv], "max_unpool")
    with _Call(dev, xv, "max_unpool") as c:
        c.workspace(lib.upsMaxUnpoolWorkspaceSize, byref(desc), byref(xd), byref(yd))
        c(lib.upsMaxUnpoolForward, byref(desc), byref(xd), _p(xv), byref(idd), _p(iv), byref(yd), _p(yv))
    return out


def max_unpool_backward_output_desc(desc, dy_desc, indices_desc):
    return _out_desc(lib.upsMaxUnpoolBackwardOutputDesc, byref(desc), byref(dy_desc), byref(indices_desc))


def max_unpool_backward_workspace_size(dy, indices, kernel_size, stride=None, padding=0):
    dyv, (iv,), dev, layout, desc = _pool_arrays_desc(dy, "dy", kernel_size, stride, padding, [(indices, "indices")])
    dyd, idd = _tdesc(dyv, layout), _tdesc(iv, layout)
    dxd = max_unpool_backward_output_desc(desc, dyd, idd)
    n = c_size_t()
    with _on_device(dev):
        _check(lib.upsMaxUnpoolBackwardWorkspaceSize(get_handle(dev).value, byref(desc), byref(dyd), byref(dxd),
                                                      byref(n)), "upsMaxUnpoolBackwardWorkspaceSize")
    return n.value


def max_unpool_backward(dy, indices, kernel_size, stride=None, padding=0, out=None):
    """Gradient of max_unpool w.r.t. x: dx[p] = dy[indices[p]]."""
    dyv, (iv,), dev, layout, desc = _pool_arrays_desc(dy, "dy", kernel_size, stride, padding, [(indices, "indices")])
    dyd, idd = _tdesc(dyv, layout), _tdesc(iv, layout)
    dxd = max_unpool_backward_output_desc(desc, dyd, idd)
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, iv, dxv], "max_unpool_backward")
    with _Call(dev, dyv, "max_unpool_backward") as c:
        c.workspace(lib.upsMaxUnpoolBackwardWorkspaceSize, byref(desc), byref(dyd), byref(dxd))
        c(lib.upsMaxUnpoolBackward, byref(desc), byref(dyd), _p(dyv), byref(idd), _p(iv), byref(dxd), _p(dxv))
    return out


# --- transposed convolution ----------------------------------------------------------------------------
_CT_KEYS = ("stride", "padding", "output_padding", "groups", "dilation", "pad_end", "algorithm",
            "deterministic", "allow_tf32")


def _ct(d, kw):
    bad = set(kw) - set(_CT_KEYS)
    if bad:
        raise TypeError("unexpected arguments %s" % sorted(bad))
    return conv_transpose_desc(d, **kw)


def conv_transpose_output_desc(desc, x_desc, w_desc):
    return _out_desc(lib.upsConvTransposeOutputDesc, byref(desc), byref(x_desc), byref(w_desc))


def _ct_setup(name, a, an, b, bn, extra=()):
    av, bv = _view(a, an), _view(b, bn)
    ev = [_view(e, en) if e is not None else None for e, en in extra]
    dev, layout = _resolve([av, bv] + ev, name, spatial_dims=av.ndim - 2)
    return av, bv, ev, dev, layout


def conv_transpose_workspace_size(x, weight, **geometry):
    xv, wv, _, dev, layout = _ct_setup("conv_transpose_workspace_size", x, "x", weight, "weight")
    desc = _ct(xv.ndim - 2, geometry)
    xd, wd = _tdesc(xv, layout), _tdesc(wv, layout)
    yd = conv_transpose_output_desc(desc, xd, wd)
    n = c_size_t()
    with _on_device(dev):
        _check(lib.upsConvTransposeWorkspaceSize(get_handle(dev).value, byref(desc), byref(xd), byref(wd),
                                                 byref(yd), byref(n)), "upsConvTransposeWorkspaceSize")
    return n.value


def conv_transpose_choose_algorithm(x, weight, **geometry):
    """The algorithm AUTO would run: 'scatter_atomic' or 'gather'."""
    xv, wv, _, dev, layout = _ct_setup("conv_transpose_choose_algorithm", x, "x", weight, "weight")
    desc = _ct(xv.ndim - 2, geometry)
    xd, wd = _tdesc(xv, layout), _tdesc(wv, layout)
    yd = conv_transpose_output_desc(desc, xd, wd)
    a = c_int()
    with _on_device(dev):
        _check(lib.upsConvTransposeChooseAlgorithm(get_handle(dev).value, byref(desc), byref(xd), byref(wd),
                                                   byref(yd), byref(a)), "upsConvTransposeChooseAlgorithm")
    return _ALGORITHM_NAMES.get(a.value, a.value)


def conv_transpose_plan_algorithm(x, weight, compute_capability, **geometry):
    """upsConvTransposePlanAlgorithm: (algorithm, reason) the CUDA backend would choose on a GPU of
    the given compute capability (e.g. 90), without a device. x and weight may be host arrays."""
    xv, wv, _, dev, layout = _ct_setup("conv_transpose_plan_algorithm", x, "x", weight, "weight")
    desc = _ct(xv.ndim - 2, geometry)
    xd, wd = _tdesc(xv, layout), _tdesc(wv, layout)
    yd = conv_transpose_output_desc(desc, xd, wd)
    a, reason = c_int(), ctypes.c_char_p()
    _check(lib.upsConvTransposePlanAlgorithm(byref(desc), byref(xd), byref(wd), byref(yd), int(compute_capability),
                                             byref(a), byref(reason)), "upsConvTransposePlanAlgorithm")
    return _ALGORITHM_NAMES.get(a.value, a.value), (reason.value or b"").decode()


def conv_transpose(x, weight, bias=None, out=None, **geometry):
    """PyTorch's conv_transpose{1,2,3}d. geometry: stride, padding, output_padding, groups, dilation,
    pad_end (asymmetric padding), algorithm ('auto', 'gather', 'scatter_atomic'), deterministic."""
    xv, wv, (bv,), dev, layout = _ct_setup("conv_transpose", x, "x", weight, "weight", [(bias, "bias")])
    desc = _ct(xv.ndim - 2, geometry)
    xd, wd = _tdesc(xv, layout), _tdesc(wv, layout)
    yd = conv_transpose_output_desc(desc, xd, wd)
    out, yv = _output(out, xv, yd, layout, dev, "out")
    _resolve([xv, wv, bv, yv], "conv_transpose")
    with _Call(dev, xv, "conv_transpose") as c:
        c.workspace(lib.upsConvTransposeWorkspaceSize, byref(desc), byref(xd), byref(wd), byref(yd))
        c(lib.upsConvTransposeForward, byref(desc), byref(xd), _p(xv), byref(wd), _p(wv), _p(bv),
          byref(yd), _p(yv))
    return out


def conv_transpose_backward_data_output_desc(desc, dy_desc, w_desc):
    return _out_desc(lib.upsConvTransposeBackwardDataOutputDesc, byref(desc), byref(dy_desc), byref(w_desc))


def conv_transpose_backward_data(dy, weight, out=None, **geometry):
    """Gradient of conv_transpose w.r.t. x (dx from dy and the weight)."""
    dyv, wv, _, dev, layout = _ct_setup("conv_transpose_backward_data", dy, "dy", weight, "weight")
    desc = _ct(dyv.ndim - 2, geometry)
    dyd, wd = _tdesc(dyv, layout), _tdesc(wv, layout)
    dxd = conv_transpose_backward_data_output_desc(desc, dyd, wd)
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, wv, dxv], "conv_transpose_backward_data")
    with _Call(dev, dyv, "conv_transpose_backward_data") as c:
        c.workspace(lib.upsConvTransposeBackwardDataWorkspaceSize, byref(desc), byref(dyd), byref(wd), byref(dxd))
        c(lib.upsConvTransposeBackwardData, byref(desc), byref(dyd), _p(dyv), byref(wd), _p(wv),
          byref(dxd), _p(dxv))
    return out


def conv_transpose_backward_weight_output_desc(desc, x_desc, dy_desc):
    return _out_desc(lib.upsConvTransposeBackwardWeightOutputDesc, byref(desc), byref(x_desc), byref(dy_desc))


def _bw_descs(x, dy, geometry, name):
    xv, dyv, _, dev, layout = _ct_setup(name, x, "x", dy, "dy")
    desc = _ct(xv.ndim - 2, geometry)
    xd, dyd = _tdesc(xv, layout), _tdesc(dyv, layout)
    dwd = conv_transpose_backward_weight_output_desc(desc, xd, dyd)
    return xv, dyv, dev, layout, desc, xd, dyd, dwd


def conv_transpose_backward_weight_workspace_size(x, dy, **geometry):
    xv, dyv, dev, layout, desc, xd, dyd, dwd = _bw_descs(x, dy, geometry, "conv_transpose_backward_weight")
    n = c_size_t()
    with _on_device(dev):
        _check(lib.upsConvTransposeBackwardWeightWorkspaceSize(get_handle(dev).value, byref(desc), byref(xd),
                                                               byref(dyd), byref(dwd), byref(n)),
               "upsConvTransposeBackwardWeightWorkspaceSize")
    return n.value


def conv_transpose_backward_weight_choose_algorithm(x, dy, **geometry):
    xv, dyv, dev, layout, desc, xd, dyd, dwd = _bw_descs(x, dy, geometry, "conv_transpose_backward_weight")
    a = c_int()
    with _on_device(dev):
        _check(lib.upsConvTransposeBackwardWeightChooseAlgorithm(get_handle(dev).value, byref(desc), byref(xd),
                                                                 byref(dyd), byref(dwd), byref(a)),
               "upsConvTransposeBackwardWeightChooseAlgorithm")
    return _ALGORITHM_NAMES.get(a.value, a.value)


def conv_transpose_backward_weight(x, dy, out=None, **geometry):
    """Gradient of conv_transpose w.r.t. the weight (dw from x and dy)."""
    xv, dyv, dev, layout, desc, xd, dyd, dwd = _bw_descs(x, dy, geometry, "conv_transpose_backward_weight")
    out, dwv = _output(out, xv, dwd, layout, dev, "dw")
    _resolve([xv, dyv, dwv], "conv_transpose_backward_weight")
    with _Call(dev, xv, "conv_transpose_backward_weight") as c:
        c.workspace(lib.upsConvTransposeBackwardWeightWorkspaceSize, byref(desc), byref(xd), byref(dyd), byref(dwd))
        c(lib.upsConvTransposeBackwardWeight, byref(desc), byref(xd), _p(xv), byref(dyd), _p(dyv),
          byref(dwd), _p(dwv))
    return out


def conv_transpose_backward_bias_workspace_size(dy, **geometry):
    dyv = _view(dy, "dy")
    dev, layout = _resolve([dyv], "conv_transpose_backward_bias")
    desc = _ct(dyv.ndim - 2, geometry)
    dyd = _tdesc(dyv, layout)
    n = c_size_t()
    with _on_device(dev):
        _check(lib.upsConvTransposeBackwardBiasWorkspaceSize(get_handle(dev).value, byref(desc), byref(dyd),
                                                             byref(n)), "upsConvTransposeBackwardBiasWorkspaceSize")
    return n.value


def conv_transpose_backward_bias(dy, out=None, **geometry):
    """Gradient of conv_transpose w.r.t. the bias: dy summed over N and the spatial axes."""
    dyv = _view(dy, "dy")
    dev, layout = _resolve([dyv], "conv_transpose_backward_bias")
    desc = _ct(dyv.ndim - 2, geometry)
    dyd = _tdesc(dyv, layout)
    if out is None:
        out = _empty(dyv, (dyv.shape[1],), dyv.dtype, 0, dev)
    dbv = _view(out, "db", writable=True)
    if dbv.shape != (dyv.shape[1],):
        _fail("UPS_STATUS_SHAPE_MISMATCH", "db: expected shape %s, got %s" % ((dyv.shape[1],), dbv.shape))
    _resolve([dyv, dbv], "conv_transpose_backward_bias")
    with _Call(dev, dyv, "conv_transpose_backward_bias") as c:
        c.workspace(lib.upsConvTransposeBackwardBiasWorkspaceSize, byref(desc), byref(dyd))
        c(lib.upsConvTransposeBackwardBias, byref(desc), byref(dyd), _p(dyv), _p(dbv))
    return out


# --- interpolation ---------------------------------------------------------------------------------------
_INTERP_MODES = {"nearest": _abi.UPS_INTERPOLATE_NEAREST, "nearest-exact": _abi.UPS_INTERPOLATE_NEAREST_EXACT,
                 "nearest_exact": _abi.UPS_INTERPOLATE_NEAREST_EXACT, "linear": _abi.UPS_INTERPOLATE_LINEAR,
                 "bilinear": _abi.UPS_INTERPOLATE_LINEAR, "trilinear": _abi.UPS_INTERPOLATE_LINEAR,
                 "bicubic": _abi.UPS_INTERPOLATE_BICUBIC, "area": _abi.UPS_INTERPOLATE_AREA}


def interpolate_desc(spatial_dims, mode="nearest", size=None, scale_factor=None, align_corners=None,
                     antialias=False, recompute_scale_factor=None):
    """upsInterpolateDescInit(Sized) plus the fields, with torch.nn.functional.interpolate's arguments
    (mode names as PyTorch's: 'nearest', 'nearest-exact', 'linear'/'bilinear'/'trilinear',
    'bicubic', 'area')."""
    if isinstance(mode, str):
        if mode not in _INTERP_MODES:
            _fail("UPS_STATUS_BAD_PARAMETER", "mode: expected one of %s, got %r" % (sorted(_INTERP_MODES), mode))
        mode = _INTERP_MODES[mode]
    d = _new_struct(_abi.upsInterpolateDesc_t)
    _check(lib.upsInterpolateDescInitSized(byref(d), ctypes.sizeof(d), mode, spatial_dims),
           "upsInterpolateDescInitSized")
    if size is not None:
        d.output_size = _i64s(_tuple(size, spatial_dims, "size"))
    if scale_factor is not None:
        sf = ([float(scale_factor)] * spatial_dims if isinstance(scale_factor, (int, float))
              else [float(v) for v in scale_factor])
        if len(sf) == 1:
            sf = sf * spatial_dims
        if len(sf) != spatial_dims:
            _fail("UPS_STATUS_BAD_PARAMETER", "scale_factor: expected %d values, got %r" % (spatial_dims, sf))
        d.scale_factor = (ctypes.c_double * _abi.UPS_MAX_SPATIAL_DIMS)(*(sf + [0.0] * (_abi.UPS_MAX_SPATIAL_DIMS - len(sf))))
    d.align_corners = 1 if align_corners else 0
    d.antialias = 1 if antialias else 0
    d.recompute_scale_factor = 1 if recompute_scale_factor else 0
    return d


def interpolate_output_desc(desc, x_desc):
    return _out_desc(lib.upsInterpolateOutputDesc, byref(desc), byref(x_desc))


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None, antialias=False,
                recompute_scale_factor=None, out=None):
    """torch.nn.functional.interpolate on the library's kernels."""
    xv = _view(x, "x")
    dev, layout = _resolve([xv], "interpolate")
    desc = interpolate_desc(xv.ndim - 2, mode, size, scale_factor, align_corners, antialias, recompute_scale_factor)
    xd = _tdesc(xv, layout)
    yd = interpolate_output_desc(desc, xd)
    out, yv = _output(out, xv, yd, layout, dev, "out")
    _resolve([xv, yv], "interpolate")
    with _Call(dev, xv, "interpolate") as c:
        c(lib.upsInterpolateForward, byref(desc), byref(xd), _p(xv), byref(yd), _p(yv))
    return out


def interpolate_backward(dy, input_size, size=None, scale_factor=None, mode="nearest", align_corners=None,
                         antialias=False, recompute_scale_factor=None, out=None):
    """Gradient of interpolate w.r.t. x; input_size: x's shape (N, C, *spatial)."""
    dyv = _view(dy, "dy")
    dev, layout = _resolve([dyv], "interpolate_backward")
    desc = interpolate_desc(dyv.ndim - 2, mode, size, scale_factor, align_corners, antialias, recompute_scale_factor)
    dyd = _tdesc(dyv, layout)
    input_size = tuple(int(v) for v in input_size)
    dxd = tensor_desc(dyv.dtype, layout, input_size[0], input_size[1], input_size[2:])
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, dxv], "interpolate_backward")
    with _Call(dev, dyv, "interpolate_backward") as c:
        c(lib.upsInterpolateBackward, byref(desc), byref(dyd), _p(dyv), byref(dxd), _p(dxv))
    return out


# --- pixel shuffle ------------------------------------------------------------------------------------------
_PS_DIRECTIONS = {"shuffle": _abi.UPS_PIXEL_SHUFFLE, "unshuffle": _abi.UPS_PIXEL_UNSHUFFLE}


def pixel_shuffle_desc(spatial_dims, factor, direction="shuffle"):
    """upsPixelShuffleDescInit(Sized); direction 'shuffle' or 'unshuffle'."""
    if isinstance(direction, str):
        if direction not in _PS_DIRECTIONS:
            _fail("UPS_STATUS_BAD_PARAMETER", "direction: expected 'shuffle' or 'unshuffle', got %r" % (direction,))
        direction = _PS_DIRECTIONS[direction]
    d = _new_struct(_abi.upsPixelShuffleDesc_t)
    _check(lib.upsPixelShuffleDescInitSized(byref(d), ctypes.sizeof(d), direction, spatial_dims, int(factor)),
           "upsPixelShuffleDescInitSized")
    return d


def pixel_shuffle_output_desc(desc, x_desc):
    return _out_desc(lib.upsPixelShuffleOutputDesc, byref(desc), byref(x_desc))


def _pixel_shuffle(x, factor, direction, out, function):
    xv = _view(x, "x")
    dev, layout = _resolve([xv], function)
    desc = pixel_shuffle_desc(xv.ndim - 2, factor, direction)
    xd = _tdesc(xv, layout)
    yd = pixel_shuffle_output_desc(desc, xd)
    out, yv = _output(out, xv, yd, layout, dev, "out")
    _resolve([xv, yv], function)
    with _Call(dev, xv, function) as c:
        c(lib.upsPixelShuffleForward, byref(desc), byref(xd), _p(xv), byref(yd), _p(yv))
    return out


def pixel_shuffle(x, upscale_factor, out=None):
    """torch.nn.functional.pixel_shuffle (2-D; 3-D by the same rule)."""
    return _pixel_shuffle(x, upscale_factor, "shuffle", out, "pixel_shuffle")


def pixel_unshuffle(x, downscale_factor, out=None):
    """torch.nn.functional.pixel_unshuffle (2-D; 3-D by the same rule)."""
    return _pixel_shuffle(x, downscale_factor, "unshuffle", out, "pixel_unshuffle")


def pixel_shuffle_backward(dy, factor, direction="shuffle", out=None):
    """Gradient of pixel_shuffle (direction 'shuffle') or pixel_unshuffle w.r.t. x: the inverse
    direction applied to dy (upsPixelShuffleBackward)."""
    dyv = _view(dy, "dy")
    dev, layout = _resolve([dyv], "pixel_shuffle_backward")
    desc = pixel_shuffle_desc(dyv.ndim - 2, factor, direction)
    inverse = pixel_shuffle_desc(dyv.ndim - 2, factor,
                                 _abi.UPS_PIXEL_UNSHUFFLE if desc.direction == _abi.UPS_PIXEL_SHUFFLE
                                 else _abi.UPS_PIXEL_SHUFFLE)
    dyd = _tdesc(dyv, layout)
    dxd = pixel_shuffle_output_desc(inverse, dyd)
    out, dxv = _output(out, dyv, dxd, layout, dev, "dx")
    _resolve([dyv, dxv], "pixel_shuffle_backward")
    with _Call(dev, dyv, "pixel_shuffle_backward") as c:
        c(lib.upsPixelShuffleBackward, byref(desc), byref(dyd), _p(dyv), byref(dxd), _p(dxv))
    return out
