"""Every ctypes declaration of the C ABI (include/upsample/upsample.h), in one place.

This module mirrors the header exactly: enums as integer constants, structs as ctypes.Structure
subclasses with the header's members in the header's order, and one prototype per UPS_API
function in FUNCTIONS. Nothing else in the package declares a struct or a prototype; when the
header changes, this is the only Python file to edit. tests/test_abi.py checks it against the
header: every UPS_API function has a prototype here, every enumerator has the header's value, and
the size and member offsets of every struct are those a C compiler gives.
"""
import ctypes
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_void_p

# --- version and limits -------------------------------------------------------------------------
UPS_VERSION_MAJOR = 0
UPS_VERSION_MINOR = 1
UPS_VERSION_PATCH = 0
UPS_MAX_SPATIAL_DIMS = 3

# --- enums (C enums are int-sized) ---------------------------------------------------------------
c_enum = c_int

upsStatus_t = c_enum
STATUS = {
    "UPS_STATUS_SUCCESS": 0,
    "UPS_STATUS_INVALID_HANDLE": 1,
    "UPS_STATUS_NULL_POINTER": 2,
    "UPS_STATUS_BAD_EXTENT": 3,
    "UPS_STATUS_SHAPE_MISMATCH": 4,
    "UPS_STATUS_BAD_PARAMETER": 5,
    "UPS_STATUS_BAD_OUTPUT_PADDING": 6,
    "UPS_STATUS_BAD_GROUPS": 7,
    "UPS_STATUS_OVERFLOW": 8,
    "UPS_STATUS_NOT_SUPPORTED": 9,
    "UPS_STATUS_WRONG_BACKEND_MEMORY": 10,
    "UPS_STATUS_MISALIGNED": 11,
    "UPS_STATUS_INDEX_OUT_OF_RANGE": 12,
    "UPS_STATUS_WORKSPACE_TOO_SMALL": 13,
    "UPS_STATUS_ALIASING": 14,
    "UPS_STATUS_BACKEND_UNAVAILABLE": 15,
    "UPS_STATUS_CUDA_ERROR": 16,
    "UPS_STATUS_ALLOC_FAILED": 17,
    "UPS_STATUS_INTERNAL_ERROR": 18,
    "UPS_STATUS_GRADIENT_SHAPE_MISMATCH": 19,
}
globals().update(STATUS)

upsDataType_t = c_enum
DTYPE = {
    "UPS_DTYPE_F32": 0,
    "UPS_DTYPE_F64": 1,
    "UPS_DTYPE_F16": 2,
    "UPS_DTYPE_BF16": 3,
    "UPS_DTYPE_I64": 4,
}
globals().update(DTYPE)

upsLayout_t = c_enum
LAYOUT = {
    "UPS_LAYOUT_CHANNELS_FIRST": 0,
    "UPS_LAYOUT_CHANNELS_LAST": 1,
}
globals().update(LAYOUT)

upsBackend_t = c_enum
BACKEND = {
    "UPS_BACKEND_CUDA": 0,
    "UPS_BACKEND_REFERENCE": 1,
}
globals().update(BACKEND)

upsAlgorithm_t = c_enum
ALGORITHM = {
    "UPS_ALGO_AUTO": 0,
    "UPS_ALGO_SCATTER_ATOMIC": 1,
    "UPS_ALGO_GATHER": 2,
}
globals().update(ALGORITHM)

upsUnpoolMode_t = c_enum
UNPOOL_MODE = {
    "UPS_UNPOOL_NEAREST": 0,
    "UPS_UNPOOL_BED_OF_NAILS": 1,
}
globals().update(UNPOOL_MODE)

ENUMS = {
    "upsStatus_t": STATUS,
    "upsDataType_t": DTYPE,
    "upsLayout_t": LAYOUT,
    "upsBackend_t": BACKEND,
    "upsAlgorithm_t": ALGORITHM,
    "upsUnpoolMode_t": UNPOOL_MODE,
}

_SPATIAL = c_int64 * UPS_MAX_SPATIAL_DIMS


# --- structs --------------------------------------------------------------------------------------
class upsTensorDesc_t(ctypes.Structure):
    _fields_ = [
        ("dtype", upsDataType_t),
        ("layout", upsLayout_t),
        ("spatial_dims", c_int),
        ("n", c_int64),
        ("c", c_int64),
        ("spatial", _SPATIAL),
    ]


class upsUnpoolDesc_t(ctypes.Structure):
    _fields_ = [
        ("mode", upsUnpoolMode_t),
        ("spatial_dims", c_int),
        ("scale", _SPATIAL),
    ]


class upsPoolDesc_t(ctypes.Structure):
    _fields_ = [
        ("spatial_dims", c_int),
        ("kernel", _SPATIAL),
        ("stride", _SPATIAL),
        ("padding", _SPATIAL),
        ("dilation", _SPATIAL),
        ("ceil_mode", c_int),
    ]


class upsConvTransposeDesc_t(ctypes.Structure):
    _fields_ = [
        ("spatial_dims", c_int),
        ("stride", _SPATIAL),
        ("pad_begin", _SPATIAL),
        ("pad_end", _SPATIAL),
        ("output_padding", _SPATIAL),
        ("dilation", _SPATIAL),
        ("groups", c_int64),
        ("algorithm", upsAlgorithm_t),
        ("deterministic", c_int),
    ]


STRUCTS = {
    "upsTensorDesc_t": upsTensorDesc_t,
    "upsUnpoolDesc_t": upsUnpoolDesc_t,
    "upsPoolDesc_t": upsPoolDesc_t,
    "upsConvTransposeDesc_t": upsConvTransposeDesc_t,
}

# How each struct is filled. A struct with an Init function in the header is always filled by it
# (it sets any member the Python side does not know, e.g. a struct_size); the others are zeroed and
# filled member by member.
STRUCT_INIT = {
    "upsTensorDesc_t": "upsTensorDescInit",
    "upsConvTransposeDesc_t": "upsConvTransposeDescInit",
}

# --- opaque handles ------------------------------------------------------------------------------
upsHandle_t = c_void_p  # struct upsContext*
upsStream_t = c_void_p  # struct CUstream_st*, binary-compatible with cudaStream_t

_T = POINTER(upsTensorDesc_t)
_U = POINTER(upsUnpoolDesc_t)
_P = POINTER(upsPoolDesc_t)
_C = POINTER(upsConvTransposeDesc_t)
_I64P = POINTER(c_int64)

# --- functions: name -> (restype, argtypes), in the header's order ----------------------------------
FUNCTIONS = {
    # status
    "upsGetStatusName": (c_char_p, [upsStatus_t]),
    "upsGetLastErrorString": (c_char_p, []),
    "upsGetVersion": (c_int, []),
    # tensors
    "upsTensorDescInit": (upsStatus_t, [_T, upsDataType_t, upsLayout_t, c_int, c_int64, c_int64, _I64P]),
    "upsTensorDescElementCount": (upsStatus_t, [_T, _I64P]),
    "upsTensorDescByteSize": (upsStatus_t, [_T, _I64P]),
    # handle
    "upsCreate": (upsStatus_t, [POINTER(upsHandle_t), upsBackend_t]),
    "upsDestroy": (upsStatus_t, [upsHandle_t]),
    "upsGetBackend": (upsStatus_t, [upsHandle_t, POINTER(upsBackend_t)]),
    "upsSetStream": (upsStatus_t, [upsHandle_t, upsStream_t]),
    "upsGetStream": (upsStatus_t, [upsHandle_t, POINTER(upsStream_t)]),
    "upsSetWorkspace": (upsStatus_t, [upsHandle_t, c_void_p, c_size_t]),
    "upsCudaDeviceAvailable": (c_int, []),
    # unpooling
    "upsUnpoolOutputDesc": (upsStatus_t, [_U, _T, _T]),
    "upsUnpoolForward": (upsStatus_t, [upsHandle_t, _U, _T, c_void_p, _T, c_void_p]),
    # max-pool, max-unpool
    "upsMaxPoolOutputDesc": (upsStatus_t, [_P, _T, _T, _T]),
    "upsMaxPoolForward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsMaxUnpoolOutputDesc": (upsStatus_t, [_P, _T, _I64P, _T]),
    "upsMaxUnpoolWorkspaceSize": (upsStatus_t, [upsHandle_t, _P, _T, _T, POINTER(c_size_t)]),
    "upsMaxUnpoolForward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    # transposed convolution
    "upsConvTransposeDescInit": (upsStatus_t, [_C, c_int]),
    "upsConvTransposeDescSetPadding": (upsStatus_t, [_C, _I64P]),
    "upsConvTransposeOutputDesc": (upsStatus_t, [_C, _T, _T, _T]),
    "upsConvTransposeWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(c_size_t)]),
    "upsConvTransposeChooseAlgorithm": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(upsAlgorithm_t)]),
    "upsConvTransposeForward": (upsStatus_t,
                                [upsHandle_t, _C, _T, c_void_p, _T, c_void_p, c_void_p, _T, c_void_p]),
    # gradients
    "upsUnpoolBackwardOutputDesc": (upsStatus_t, [_U, _T, _T]),
    "upsUnpoolBackward": (upsStatus_t, [upsHandle_t, _U, _T, c_void_p, _T, c_void_p]),
    "upsMaxPoolBackward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsMaxUnpoolBackwardOutputDesc": (upsStatus_t, [_P, _T, _T, _T]),
    "upsMaxUnpoolBackwardWorkspaceSize": (upsStatus_t, [upsHandle_t, _P, _T, _T, POINTER(c_size_t)]),
    "upsMaxUnpoolBackward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsConvTransposeBackwardDataOutputDesc": (upsStatus_t, [_C, _T, _T, _T]),
    "upsConvTransposeBackwardData": (upsStatus_t, [upsHandle_t, _C, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsConvTransposeBackwardWeightOutputDesc": (upsStatus_t, [_C, _T, _T, _T]),
    "upsConvTransposeBackwardWeightWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(c_size_t)]),
    "upsConvTransposeBackwardWeightChooseAlgorithm": (upsStatus_t,
                                                      [upsHandle_t, _C, _T, _T, _T, POINTER(upsAlgorithm_t)]),
    "upsConvTransposeBackwardWeight": (upsStatus_t,
                                       [upsHandle_t, _C, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsConvTransposeBackwardBiasWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, POINTER(c_size_t)]),
    "upsConvTransposeBackwardBias": (upsStatus_t, [upsHandle_t, _C, _T, c_void_p, c_void_p]),
}


# --- foreign ABIs the package reads: DLPack (dlpack.h, the unversioned DLManagedTensor that
# __dlpack__() returns without max_version) and two CUDA runtime calls -----------------------------
kDLCPU = 1
kDLCUDA = 2
kDLCUDAHost = 3
kDLCUDAManaged = 13
kDLInt, kDLUInt, kDLFloat, kDLBfloat = 0, 1, 2, 4


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", POINTER(c_int64)),
        ("strides", POINTER(c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", c_void_p), ("deleter", c_void_p)]


class cudaPointerAttributes(ctypes.Structure):
    _fields_ = [("type", c_int), ("device", c_int), ("devicePointer", c_void_p), ("hostPointer", c_void_p)]


cudaMemoryTypeDevice, cudaMemoryTypeManaged = 2, 3

CUDART_FUNCTIONS = {
    "cudaGetDevice": (c_int, [POINTER(c_int)]),
    "cudaSetDevice": (c_int, [c_int]),
    "cudaPointerGetAttributes": (c_int, [POINTER(cudaPointerAttributes), c_void_p]),
}


def bind(lib, functions=None):
    """Sets restype/argtypes of every function on a loaded ctypes.CDLL; returns the names missing."""
    missing = []
    for name, (restype, argtypes) in (FUNCTIONS if functions is None else functions).items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    return missing
