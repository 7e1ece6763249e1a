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
UPS_VERSION_MINOR = 2
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
    "UPS_STATUS_STREAM_CAPTURING": 20,
    "UPS_STATUS_NOT_READY": 21,
}
globals().update(STATUS)

upsDataType_t = c_enum
DTYPE = {
    "UPS_DTYPE_F32": 0,
    "UPS_DTYPE_F64": 1,
    "UPS_DTYPE_F16": 2,
    "UPS_DTYPE_BF16": 3,
    "UPS_DTYPE_I64": 4,
    "UPS_DTYPE_I32": 5,
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

upsIndexCheckMode_t = c_enum
INDEX_CHECK_MODE = {
    "UPS_INDEX_CHECK_AUTO": 0,
    "UPS_INDEX_CHECK_SYNC": 1,
    "UPS_INDEX_CHECK_ASYNC": 2,
}
globals().update(INDEX_CHECK_MODE)

upsErrQueryMode_t = c_enum
ERRQUERY_MODE = {
    "UPS_ERRQUERY_BLOCKING": 0,
    "UPS_ERRQUERY_NONBLOCKING": 1,
}
globals().update(ERRQUERY_MODE)

upsAlgorithm_t = c_enum
ALGORITHM = {
    "UPS_ALGO_AUTO": 0,
    "UPS_ALGO_SCATTER_ATOMIC": 1,
    "UPS_ALGO_GATHER": 2,
    "UPS_ALGO_IMPLICIT_GEMM": 3,
}
globals().update(ALGORITHM)

upsMathMode_t = c_enum
MATH_MODE = {
    "UPS_MATH_DEFAULT": 0,
    "UPS_MATH_ALLOW_TF32": 1,
}
globals().update(MATH_MODE)

upsUnpoolMode_t = c_enum
UNPOOL_MODE = {
    "UPS_UNPOOL_NEAREST": 0,
    "UPS_UNPOOL_BED_OF_NAILS": 1,
}
globals().update(UNPOOL_MODE)

upsInterpolateMode_t = c_enum
INTERPOLATE_MODE = {
    "UPS_INTERPOLATE_NEAREST": 0,
    "UPS_INTERPOLATE_NEAREST_EXACT": 1,
    "UPS_INTERPOLATE_LINEAR": 2,
    "UPS_INTERPOLATE_BICUBIC": 3,
    "UPS_INTERPOLATE_AREA": 4,
}
globals().update(INTERPOLATE_MODE)

upsPixelShuffleDirection_t = c_enum
PIXEL_SHUFFLE_DIRECTION = {
    "UPS_PIXEL_SHUFFLE": 0,
    "UPS_PIXEL_UNSHUFFLE": 1,
}
globals().update(PIXEL_SHUFFLE_DIRECTION)

ENUMS = {
    "upsStatus_t": STATUS,
    "upsDataType_t": DTYPE,
    "upsLayout_t": LAYOUT,
    "upsBackend_t": BACKEND,
    "upsIndexCheckMode_t": INDEX_CHECK_MODE,
    "upsErrQueryMode_t": ERRQUERY_MODE,
    "upsAlgorithm_t": ALGORITHM,
    "upsMathMode_t": MATH_MODE,
    "upsUnpoolMode_t": UNPOOL_MODE,
    "upsInterpolateMode_t": INTERPOLATE_MODE,
    "upsPixelShuffleDirection_t": PIXEL_SHUFFLE_DIRECTION,
}

_SPATIAL = c_int64 * UPS_MAX_SPATIAL_DIMS
_SPATIAL_F = ctypes.c_double * UPS_MAX_SPATIAL_DIMS


# --- structs --------------------------------------------------------------------------------------
class upsTensorDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("dtype", upsDataType_t),
        ("layout", upsLayout_t),
        ("spatial_dims", c_int),
        ("n", c_int64),
        ("c", c_int64),
        ("spatial", _SPATIAL),
    ]


class upsUnpoolDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("mode", upsUnpoolMode_t),
        ("spatial_dims", c_int),
        ("scale", _SPATIAL),
    ]


class upsPoolDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("spatial_dims", c_int),
        ("kernel", _SPATIAL),
        ("stride", _SPATIAL),
        ("padding", _SPATIAL),
        ("dilation", _SPATIAL),
        ("ceil_mode", c_int),
    ]


class upsConvTransposeDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("spatial_dims", c_int),
        ("stride", _SPATIAL),
        ("pad_begin", _SPATIAL),
        ("pad_end", _SPATIAL),
        ("output_padding", _SPATIAL),
        ("dilation", _SPATIAL),
        ("groups", c_int64),
        ("algorithm", upsAlgorithm_t),
        ("deterministic", c_int),
        ("math_mode", upsMathMode_t),
    ]


class upsInterpolateDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("mode", upsInterpolateMode_t),
        ("spatial_dims", c_int),
        ("output_size", _SPATIAL),
        ("scale_factor", _SPATIAL_F),
        ("align_corners", c_int),
        ("antialias", c_int),
        ("recompute_scale_factor", c_int),
    ]


class upsPixelShuffleDesc_t(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("direction", upsPixelShuffleDirection_t),
        ("spatial_dims", c_int),
        ("factor", c_int64),
    ]


STRUCTS = {
    "upsTensorDesc_t": upsTensorDesc_t,
    "upsUnpoolDesc_t": upsUnpoolDesc_t,
    "upsPoolDesc_t": upsPoolDesc_t,
    "upsConvTransposeDesc_t": upsConvTransposeDesc_t,
    "upsInterpolateDesc_t": upsInterpolateDesc_t,
    "upsPixelShuffleDesc_t": upsPixelShuffleDesc_t,
}

# Every descriptor starts with struct_size (NOTE [ Descriptor versions ] in the header). The
# header's ...Init functions are static inline wrappers that pass sizeof(*desc) to the exported
# ...InitSized; from Python the Sized form is called with ctypes.sizeof of the struct below, so the
# library reads exactly the layout declared here.
STRUCT_INIT = {
    "upsTensorDesc_t": "upsTensorDescInitSized",
    "upsUnpoolDesc_t": "upsUnpoolDescInitSized",
    "upsPoolDesc_t": "upsPoolDescInitSized",
    "upsConvTransposeDesc_t": "upsConvTransposeDescInitSized",
    "upsInterpolateDesc_t": "upsInterpolateDescInitSized",
    "upsPixelShuffleDesc_t": "upsPixelShuffleDescInitSized",
}

# --- opaque handles ------------------------------------------------------------------------------
upsHandle_t = c_void_p  # struct upsContext*
upsStream_t = c_void_p  # struct CUstream_st*, binary-compatible with cudaStream_t

_T = POINTER(upsTensorDesc_t)
_U = POINTER(upsUnpoolDesc_t)
_P = POINTER(upsPoolDesc_t)
_C = POINTER(upsConvTransposeDesc_t)
_IP = POINTER(upsInterpolateDesc_t)
_PS = POINTER(upsPixelShuffleDesc_t)
_I64P = POINTER(c_int64)

# --- functions: name -> (restype, argtypes), in the header's order ----------------------------------
FUNCTIONS = {
    # status
    "upsGetStatusName": (c_char_p, [upsStatus_t]),
    "upsGetLastErrorString": (c_char_p, []),
    "upsGetVersion": (c_int, []),
    # tensors
    "upsTensorDescInitSized": (upsStatus_t, [_T, c_size_t, upsDataType_t, upsLayout_t, c_int, c_int64, c_int64,
                                             _I64P]),
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
    # device-side errors, CUDA graphs
    "upsSetIndexCheckMode": (upsStatus_t, [upsHandle_t, upsIndexCheckMode_t]),
    "upsGetIndexCheckMode": (upsStatus_t, [upsHandle_t, POINTER(upsIndexCheckMode_t)]),
    "upsQueryRuntimeError": (upsStatus_t, [upsHandle_t, POINTER(upsStatus_t), upsErrQueryMode_t]),
    # unpooling
    "upsUnpoolDescInitSized": (upsStatus_t, [_U, c_size_t, upsUnpoolMode_t, c_int, _I64P]),
    "upsUnpoolOutputDesc": (upsStatus_t, [_U, _T, _T]),
    "upsUnpoolForward": (upsStatus_t, [upsHandle_t, _U, _T, c_void_p, _T, c_void_p]),
    # max-pool, max-unpool
    "upsPoolDescInitSized": (upsStatus_t, [_P, c_size_t, c_int, _I64P, _I64P, _I64P]),
    "upsMaxPoolOutputDesc": (upsStatus_t, [_P, _T, _T, _T]),
    "upsMaxPoolForward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsMaxUnpoolOutputDesc": (upsStatus_t, [_P, _T, _I64P, _T]),
    "upsMaxUnpoolWorkspaceSize": (upsStatus_t, [upsHandle_t, _P, _T, _T, POINTER(c_size_t)]),
    "upsMaxUnpoolForward": (upsStatus_t, [upsHandle_t, _P, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    # transposed convolution
    "upsConvTransposeDescInitSized": (upsStatus_t, [_C, c_size_t, c_int]),
    "upsConvTransposeDescSetPadding": (upsStatus_t, [_C, _I64P]),
    "upsConvTransposeOutputDesc": (upsStatus_t, [_C, _T, _T, _T]),
    "upsConvTransposeWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(c_size_t)]),
    "upsConvTransposeChooseAlgorithm": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(upsAlgorithm_t)]),
    "upsConvTransposePlanAlgorithm": (upsStatus_t, [_C, _T, _T, _T, c_int, POINTER(upsAlgorithm_t),
                                                     POINTER(c_char_p)]),
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
    "upsConvTransposeBackwardDataWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(c_size_t)]),
    "upsConvTransposeBackwardDataChooseAlgorithm": (upsStatus_t,
                                                    [upsHandle_t, _C, _T, _T, _T, POINTER(upsAlgorithm_t)]),
    "upsConvTransposeBackwardData": (upsStatus_t, [upsHandle_t, _C, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsConvTransposeBackwardWeightOutputDesc": (upsStatus_t, [_C, _T, _T, _T]),
    "upsConvTransposeBackwardWeightWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, _T, _T, POINTER(c_size_t)]),
    "upsConvTransposeBackwardWeightChooseAlgorithm": (upsStatus_t,
                                                      [upsHandle_t, _C, _T, _T, _T, POINTER(upsAlgorithm_t)]),
    "upsConvTransposeBackwardWeight": (upsStatus_t,
                                       [upsHandle_t, _C, _T, c_void_p, _T, c_void_p, _T, c_void_p]),
    "upsConvTransposeBackwardBiasWorkspaceSize": (upsStatus_t, [upsHandle_t, _C, _T, POINTER(c_size_t)]),
    "upsConvTransposeBackwardBias": (upsStatus_t, [upsHandle_t, _C, _T, c_void_p, c_void_p]),
    # interpolation
    "upsInterpolateDescInitSized": (upsStatus_t, [_IP, c_size_t, upsInterpolateMode_t, c_int]),
    "upsInterpolateOutputDesc": (upsStatus_t, [_IP, _T, _T]),
    "upsInterpolateForward": (upsStatus_t, [upsHandle_t, _IP, _T, c_void_p, _T, c_void_p]),
    "upsInterpolateBackward": (upsStatus_t, [upsHandle_t, _IP, _T, c_void_p, _T, c_void_p]),
    # pixel shuffle
    "upsPixelShuffleDescInitSized": (upsStatus_t, [_PS, c_size_t, upsPixelShuffleDirection_t, c_int, c_int64]),
    "upsPixelShuffleOutputDesc": (upsStatus_t, [_PS, _T, _T]),
    "upsPixelShuffleForward": (upsStatus_t, [upsHandle_t, _PS, _T, c_void_p, _T, c_void_p]),
    "upsPixelShuffleBackward": (upsStatus_t, [upsHandle_t, _PS, _T, c_void_p, _T, c_void_p]),
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
