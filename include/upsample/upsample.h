/*
 * upsample: upsampling kernels for generative models — the public C API.
 *
 * Everything a caller needs is in this header. The ABI is plain C: callable from C, C++ and
 * Python's ctypes. A thin C++17 layer (upsample.hpp) sits on top.
 *
 * Conventions
 * -----------
 * - Every function returns an upsStatus_t. On failure, upsGetLastErrorString() returns a message
 *   (thread-local, valid until the next call on this thread) that names the argument and what was
 *   expected. Every argument is validated before any memory is touched: a rejected call writes no
 *   output byte.
 * - A handle (upsHandle_t) owns a backend, a stream and a workspace. UPS_BACKEND_CUDA runs the
 *   library's CUDA kernels on device memory, asynchronously on the handle's stream;
 *   UPS_BACKEND_REFERENCE runs the CPU reference on host memory, synchronously.
 * - A tensor descriptor (upsTensorDesc_t) says what a buffer holds: dtype, layout and extents.
 *   It holds no data. Spatial extents are listed outermost first: (W) for 1-D, (H, W) for 2-D,
 *   (D, H, W) for 3-D. Buffers are dense in the stated layout.
 * - Shapes follow PyTorch. Transposed-convolution weights are laid out as PyTorch's ConvTranspose
 *   weight: (C_in, C_out/groups, k...) in channels-first, (C_in, k..., C_out/groups) in
 *   channels-last, described by a tensor descriptor with n = C_in and c = C_out/groups.
 * - A tensor with zero elements (N = 0 or C = 0, or a zero spatial extent where the op allows
 *   one: unpooling does, transposed convolution and pooling need spatial extents >= 1, as in
 *   PyTorch) is valid; the op then succeeds without launching anything.
 * - Data-movement ops (unpooling, max-pool's values, max-unpool) return input elements bit for
 *   bit: NaN payloads and signed zeros are kept.
 * - A handle may be used by one host thread at a time; separate handles may be used concurrently.
 *
 * Descriptors and compatibility (NOTE [ Descriptor versions ])
 * ------------------------------------------------------------
 * Every descriptor struct (upsTensorDesc_t, upsUnpoolDesc_t, upsPoolDesc_t, upsConvTransposeDesc_t,
 * and any family added later) starts with `size_t struct_size`: the sizeof the caller compiled
 * against. Later releases only ever append fields, so a program built against an older header
 * keeps working with a newer library of the same major.minor series (see README "Compatibility").
 * - Fill a descriptor with its ...Init function (upsTensorDescInit, upsUnpoolDescInit,
 *   upsPoolDescInit, upsConvTransposeDescInit): each is a static inline function that passes
 *   sizeof(*desc) to the exported ...InitSized function, so the size recorded is the caller's.
 *   Then change fields by name as needed.
 * - A descriptor filled by hand that leaves struct_size 0 (e.g. `upsPoolDesc_t d = {0};`) is
 *   read as this header's first versioned layout, so zero-initialised descriptors keep working.
 * - The library reads exactly struct_size bytes of a descriptor and takes every field beyond them
 *   from its defaults; a struct_size that is neither 0 nor between the first layout's size and the
 *   library's own sizeof is UPS_STATUS_BAD_PARAMETER ("x.struct_size: expected ...").
 * - Descriptors the library writes (the *OutputDesc results) are written with the struct_size of
 *   the input descriptor they derive from (y from x, dx from dy, ...), never more bytes than that.
 */
#ifndef UPSAMPLE_UPSAMPLE_H
#define UPSAMPLE_UPSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "upsample/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UPS_VERSION_MAJOR 0
#define UPS_VERSION_MINOR 2
#define UPS_VERSION_PATCH 0

/* The most spatial dimensions any op accepts (1-D, 2-D and 3-D ops). */
#define UPS_MAX_SPATIAL_DIMS 3

/* ---------------------------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------------------------- */
typedef enum upsStatus_t {
  UPS_STATUS_SUCCESS = 0,
  UPS_STATUS_INVALID_HANDLE = 1,         /* null or destroyed handle */
  UPS_STATUS_NULL_POINTER = 2,           /* a required pointer (descriptor, or data of a non-empty tensor) is null */
  UPS_STATUS_BAD_EXTENT = 3,             /* a negative extent, or a spatial-dims count outside 1..3 */
  UPS_STATUS_SHAPE_MISMATCH = 4,         /* extents inconsistent between tensors or with the op's geometry */
  UPS_STATUS_BAD_PARAMETER = 5,          /* a geometry parameter out of range: scale/stride/dilation/kernel < 1, padding < 0, ... */
  UPS_STATUS_BAD_OUTPUT_PADDING = 6,     /* output_padding < 0 or not smaller than max(stride, dilation) on its axis */
  UPS_STATUS_BAD_GROUPS = 7,             /* groups < 1 or not dividing both channel counts */
  UPS_STATUS_OVERFLOW = 8,               /* an element or byte count does not fit in int64 */
  UPS_STATUS_NOT_SUPPORTED = 9,          /* a dtype/layout/algorithm combination this op does not provide */
  UPS_STATUS_WRONG_BACKEND_MEMORY = 10,  /* device memory given to the reference backend, or host memory to CUDA */
  UPS_STATUS_MISALIGNED = 11,            /* a pointer not aligned to its element size (or to what a forced algorithm needs) */
  UPS_STATUS_INDEX_OUT_OF_RANGE = 12,    /* a max-unpool switch index outside its output plane (from the call: nothing
                                            was written; from upsQueryRuntimeError: nothing out of range was written) */
  UPS_STATUS_WORKSPACE_TOO_SMALL = 13,   /* the workspace given with upsSetWorkspace is smaller than the op needs */
  UPS_STATUS_ALIASING = 14,              /* an output buffer overlaps an input buffer */
  UPS_STATUS_BACKEND_UNAVAILABLE = 15,   /* the CUDA backend was asked for where no usable CUDA device exists */
  UPS_STATUS_CUDA_ERROR = 16,            /* a CUDA runtime call or kernel launch failed; the message has CUDA's text */
  UPS_STATUS_ALLOC_FAILED = 17,          /* the handle could not allocate its workspace */
  UPS_STATUS_INTERNAL_ERROR = 18,        /* a bug in upsample: please report it with the message */
  UPS_STATUS_GRADIENT_SHAPE_MISMATCH = 19, /* a gradient (dy, dx, dw) whose shape does not match the forward geometry */
  UPS_STATUS_STREAM_CAPTURING = 20,     /* the call would allocate, free or synchronize while the handle's stream is
                                           capturing a CUDA graph (see "CUDA graphs" below); nothing was enqueued */
  UPS_STATUS_NOT_READY = 21             /* upsQueryRuntimeError, non-blocking: work on the stream has not finished */
} upsStatus_t;

/* The enumerator's name, e.g. "UPS_STATUS_BAD_GROUPS". Never null. */
UPS_API const char* upsGetStatusName(upsStatus_t status);
/* The message of the last failed call on this thread ("" if the last call succeeded). Never null. */
UPS_API const char* upsGetLastErrorString(void);
/* Library version as MAJOR*10000 + MINOR*100 + PATCH. */
UPS_API int upsGetVersion(void);

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */
typedef enum upsDataType_t {
  UPS_DTYPE_F32 = 0,
  UPS_DTYPE_F64 = 1,
  UPS_DTYPE_F16 = 2,  /* IEEE binary16; computed with float accumulation */
  UPS_DTYPE_BF16 = 3, /* bfloat16; computed with float accumulation */
  UPS_DTYPE_I64 = 4,  /* max-pool switch indices only */
  UPS_DTYPE_I32 = 5   /* max-pool switch indices only: half the index bytes; planes of at most 2^31 */
} upsDataType_t;

typedef enum upsLayout_t {
  UPS_LAYOUT_CHANNELS_FIRST = 0, /* NCW, NCHW, NCDHW */
  UPS_LAYOUT_CHANNELS_LAST = 1   /* NWC, NHWC, NDHWC */
} upsLayout_t;

typedef struct upsTensorDesc_t {
  size_t struct_size;                      /* sizeof the caller's struct: set by upsTensorDescInit, or 0 */
  upsDataType_t dtype;
  upsLayout_t layout;
  int spatial_dims;                        /* 1, 2 or 3 */
  int64_t n;                               /* batch (C_in for a transposed-convolution weight) */
  int64_t c;                               /* channels (C_out/groups for a transposed-convolution weight) */
  int64_t spatial[UPS_MAX_SPATIAL_DIMS];   /* first spatial_dims entries used: (W), (H, W) or (D, H, W) */
} upsTensorDesc_t;

/* Fills a descriptor; spatial holds spatial_dims extents, outermost first. Call upsTensorDescInit;
 * the Sized form is what it calls (and what a foreign-function interface calls with its own size). */
UPS_API upsStatus_t upsTensorDescInitSized(upsTensorDesc_t* desc, size_t struct_size, upsDataType_t dtype,
                                           upsLayout_t layout, int spatial_dims, int64_t n, int64_t c,
                                           const int64_t* spatial);
static inline upsStatus_t upsTensorDescInit(upsTensorDesc_t* desc, upsDataType_t dtype, upsLayout_t layout,
                                            int spatial_dims, int64_t n, int64_t c, const int64_t* spatial) {
  return upsTensorDescInitSized(desc, sizeof *desc, dtype, layout, spatial_dims, n, c, spatial);
}
/* Element count and byte count of a described dense tensor (OVERFLOW if they exceed int64). */
UPS_API upsStatus_t upsTensorDescElementCount(const upsTensorDesc_t* desc, int64_t* elements);
UPS_API upsStatus_t upsTensorDescByteSize(const upsTensorDesc_t* desc, int64_t* bytes);

/* ---------------------------------------------------------------------------------------------
 * Handle
 * ------------------------------------------------------------------------------------------- */
typedef struct upsContext* upsHandle_t;
/* Binary-compatible with cudaStream_t; null is the legacy default stream. */
typedef struct CUstream_st* upsStream_t;

typedef enum upsBackend_t {
  UPS_BACKEND_CUDA = 0,      /* the library's CUDA kernels on device memory (the current device) */
  UPS_BACKEND_REFERENCE = 1  /* the CPU reference on host memory: plain loops from the definitions */
} upsBackend_t;

UPS_API upsStatus_t upsCreate(upsHandle_t* handle, upsBackend_t backend);
/* Destroys the handle and frees its own workspace (after synchronizing its stream). */
UPS_API upsStatus_t upsDestroy(upsHandle_t handle);
UPS_API upsStatus_t upsGetBackend(upsHandle_t handle, upsBackend_t* backend);
UPS_API upsStatus_t upsSetStream(upsHandle_t handle, upsStream_t stream);
UPS_API upsStatus_t upsGetStream(upsHandle_t handle, upsStream_t* stream);
/*
 * Workspace. By default the handle allocates what an op needs and keeps it for later calls.
 * A caller who wants no allocation inside ops gives its own buffer here (device memory for the
 * CUDA backend), sized with the op's *WorkspaceSize query; an op whose need exceeds it returns
 * UPS_STATUS_WORKSPACE_TOO_SMALL. Passing (NULL, 0) returns to handle-owned workspace.
 */
UPS_API upsStatus_t upsSetWorkspace(upsHandle_t handle, void* workspace, size_t workspace_bytes);

/* Whether a CUDA device is usable from this process (0 or 1), without creating a handle. */
UPS_API int upsCudaDeviceAvailable(void);

/*
 * Errors found on the device, and CUDA graphs.
 *
 * The one error a kernel can find is a max-unpool switch index outside its output plane. How it
 * reaches the caller is the handle's index-check mode:
 *   UPS_INDEX_CHECK_AUTO (default): synchronous, except while the handle's stream is capturing a
 *     CUDA graph, when it is asynchronous. Eager C callers keep a status from the call itself;
 *     capture never breaks.
 *   UPS_INDEX_CHECK_SYNC: the op checks every index first and reads the verdict back
 *     (synchronizing the stream); a bad index is UPS_STATUS_INDEX_OUT_OF_RANGE from the call, with
 *     nothing written. Under capture that is impossible: the op returns UPS_STATUS_STREAM_CAPTURING.
 *   UPS_INDEX_CHECK_ASYNC: never synchronizes (PyTorch-style callers: torch.compile, CUDA graphs).
 *     The kernel writes nothing out of range (forward: the bad input is skipped; backward: its dx is
 *     0) and records the first offending position (n, c, d, h, w order, per call) in a device-side
 *     record the handle owns; the call itself returns SUCCESS.
 * upsQueryRuntimeError reports the record: *status is UPS_STATUS_SUCCESS, or the status of the
 * first call that found a bad index since the last query, with the same message (upsGetLastErrorString)
 * a synchronous check gives; reading it clears the record. UPS_ERRQUERY_BLOCKING waits for the
 * handle's stream; UPS_ERRQUERY_NONBLOCKING returns UPS_STATUS_NOT_READY in *status while work is
 * pending. Both refuse (UPS_STATUS_STREAM_CAPTURING) while the stream is capturing. The reference
 * backend checks synchronously in every mode; its record is always clean.
 *
 * While the handle's stream is capturing (cudaStreamIsCapturing), no upsample call allocates,
 * frees or synchronizes. An op that needs more handle-owned workspace than the handle holds
 * returns UPS_STATUS_STREAM_CAPTURING: size a workspace with the op's *WorkspaceSize query and
 * pass it with upsSetWorkspace before capturing (or run the op once before capturing). Workspace
 * the handle outgrows is kept until upsDestroy, since a graph captured earlier may still use it.
 */
typedef enum upsIndexCheckMode_t {
  UPS_INDEX_CHECK_AUTO = 0,
  UPS_INDEX_CHECK_SYNC = 1,
  UPS_INDEX_CHECK_ASYNC = 2
} upsIndexCheckMode_t;

typedef enum upsErrQueryMode_t {
  UPS_ERRQUERY_BLOCKING = 0,   /* wait for the handle's stream, then read the record */
  UPS_ERRQUERY_NONBLOCKING = 1 /* read the record only if the stream is idle, else *status = UPS_STATUS_NOT_READY */
} upsErrQueryMode_t;

UPS_API upsStatus_t upsSetIndexCheckMode(upsHandle_t handle, upsIndexCheckMode_t mode);
UPS_API upsStatus_t upsGetIndexCheckMode(upsHandle_t handle, upsIndexCheckMode_t* mode);
/* cuDNN's cudnnQueryRuntimeError: the returned status is the query's own, *status the record's. */
UPS_API upsStatus_t upsQueryRuntimeError(upsHandle_t handle, upsStatus_t* status, upsErrQueryMode_t mode);

/* ---------------------------------------------------------------------------------------------
 * Algorithms
 * ------------------------------------------------------------------------------------------- */
typedef enum upsAlgorithm_t {
  UPS_ALGO_AUTO = 0,           /* the library chooses per shape (and honours the deterministic flag) */
  UPS_ALGO_SCATTER_ATOMIC = 1, /* input-stationary, output accumulated with atomics: not run-to-run deterministic */
  UPS_ALGO_GATHER = 2,         /* output-stationary, each output summed in a fixed order: run-to-run deterministic */
  UPS_ALGO_IMPLICIT_GEMM = 3   /* transposed convolution as a stride-phase implicit GEMM: tensor cores (mma.sync) for
                                  f16/bf16 (and f32 with UPS_MATH_ALLOW_TF32) on sm_80+, else its SIMT twin; no split-K,
                                  so run-to-run deterministic */
} upsAlgorithm_t;

/* Math mode of a transposed convolution (PyTorch's and cuDNN's explicit TF32 switch). */
typedef enum upsMathMode_t {
  UPS_MATH_DEFAULT = 0,    /* f32 computed in f32: exact-f32 products and f32 accumulation */
  UPS_MATH_ALLOW_TF32 = 1  /* f32 inputs may be rounded to TF32 (10-bit mantissa) for tensor cores, f32 accumulation */
} upsMathMode_t;

/* ---------------------------------------------------------------------------------------------
 * Unpooling: nearest-neighbour and bed-of-nails
 *
 * Output extent on each spatial axis: in * scale.
 *   nearest:      y[n, c, o] = x[n, c, floor(o / scale)]
 *   bed-of-nails: y[n, c, o] = x[n, c, o / scale] if every o is a multiple of its scale, else 0
 * Input and output share dtype (f32, f64, f16, bf16) and layout.
 * ------------------------------------------------------------------------------------------- */
typedef enum upsUnpoolMode_t {
  UPS_UNPOOL_NEAREST = 0,
  UPS_UNPOOL_BED_OF_NAILS = 1
} upsUnpoolMode_t;

typedef struct upsUnpoolDesc_t {
  size_t struct_size; /* sizeof the caller's struct: set by upsUnpoolDescInit, or 0 */
  upsUnpoolMode_t mode;
  int spatial_dims;
  int64_t scale[UPS_MAX_SPATIAL_DIMS];
} upsUnpoolDesc_t;

/* Fills an unpooling descriptor: mode and spatial_dims scale factors (each >= 1). */
UPS_API upsStatus_t upsUnpoolDescInitSized(upsUnpoolDesc_t* desc, size_t struct_size, upsUnpoolMode_t mode,
                                           int spatial_dims, const int64_t* scale);
static inline upsStatus_t upsUnpoolDescInit(upsUnpoolDesc_t* desc, upsUnpoolMode_t mode, int spatial_dims,
                                            const int64_t* scale) {
  return upsUnpoolDescInitSized(desc, sizeof *desc, mode, spatial_dims, scale);
}

UPS_API upsStatus_t upsUnpoolOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x,
                                        upsTensorDesc_t* y);
UPS_API upsStatus_t upsUnpoolForward(upsHandle_t handle, const upsUnpoolDesc_t* desc,
                                     const upsTensorDesc_t* x_desc, const void* x,
                                     const upsTensorDesc_t* y_desc, void* y);

/* ---------------------------------------------------------------------------------------------
 * Max-pooling with indices, and max-unpooling
 *
 * Max-pool follows PyTorch's MaxPool{1,2,3}d(return_indices=True):
 *   out = floor_or_ceil((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1, and in ceil mode the
 *   last window must start inside the input or the left padding: if (out-1)*stride >= in + pad,
 *   out -= 1. Requires pad <= kernel/2, and rejects (BAD_PARAMETER) the rare geometry where a
 *   window has every tap in the padding (e.g. kernel 2, padding 1, dilation 2 on an extent-1
 *   axis): such a window has no maximum and no valid index.
 *   Each window's maximum is taken over its in-bounds positions (padding never wins). Among equal
 *   values the first in scan order (d, then h, then w) wins; a NaN wins over any number, and among
 *   several NaNs the last in scan order wins (PyTorch's `val > max || isnan(val)` rule).
 *   indices (same layout and shape as the pooled output) hold the winner's flat position within
 *   its (n, c) plane of the input: (d*H + h)*W + w. Their dtype is I64 (what upsMaxPoolOutputDesc
 *   gives, PyTorch's) or I32 (set it on the descriptor: half the index bytes that max-pool writes
 *   and that max-pool backward, max-unpool and its backward read; needs the input plane D*H*W at
 *   most 2^31 elements, else UPS_STATUS_NOT_SUPPORTED). Every op that reads indices takes either
 *   dtype; the ops' results do not depend on it.
 *
 * Max-unpool is PyTorch's MaxUnpool{1,2,3}d: y is zero except y[n, c, indices[n, c, p]] = x[n, c, p].
 *   Output extent: upsMaxUnpoolOutputDesc gives (in-1)*stride - 2*pad + kernel per axis (any
 *   padding >= 0: max-pool's pad <= kernel/2 rule does not apply, as in PyTorch); an explicit
 *   output size (PyTorch's output_size) must be >= 0 and lie strictly within stride of that. The op
 *   entry points accept exactly the shapes this function gives. An extent of 0 is a shape (PyTorch
 *   returns an empty tensor): with an empty x the call succeeds; with a non-empty x every index is
 *   out of range, so the call returns UPS_STATUS_INDEX_OUT_OF_RANGE (PyTorch: "invalid max index").
 *   A default extent below 0 is UPS_STATUS_BAD_PARAMETER.
 *   Every index is checked: one outside [0, plane size) is UPS_STATUS_INDEX_OUT_OF_RANGE naming
 *   the first offending position — from the call with y untouched under synchronous checking, or
 *   from upsQueryRuntimeError with nothing written out of range (see "Errors found on the device").
 *   Duplicates: when several inputs of one (n, c) plane carry the same index, the one latest in
 *   the plane's scan order wins (what a sequential loop gives) — on every backend, deterministically.
 *   Synchronous checking (the default outside graph capture) reads the check back: that call
 *   synchronizes the handle's stream.
 * ------------------------------------------------------------------------------------------- */
typedef struct upsPoolDesc_t {
  size_t struct_size; /* sizeof the caller's struct: set by upsPoolDescInit, or 0 */
  int spatial_dims;
  int64_t kernel[UPS_MAX_SPATIAL_DIMS];
  int64_t stride[UPS_MAX_SPATIAL_DIMS];
  int64_t padding[UPS_MAX_SPATIAL_DIMS];
  int64_t dilation[UPS_MAX_SPATIAL_DIMS]; /* max-pool only; max-unpool ignores it, as PyTorch's does */
  int ceil_mode;                          /* max-pool only */
} upsPoolDesc_t;

/* Fills a pooling descriptor: spatial_dims values each of kernel, stride and padding; dilation 1,
 * ceil_mode 0 (set those fields afterwards to change them). */
UPS_API upsStatus_t upsPoolDescInitSized(upsPoolDesc_t* desc, size_t struct_size, int spatial_dims,
                                         const int64_t* kernel, const int64_t* stride, const int64_t* padding);
static inline upsStatus_t upsPoolDescInit(upsPoolDesc_t* desc, int spatial_dims, const int64_t* kernel,
                                          const int64_t* stride, const int64_t* padding) {
  return upsPoolDescInitSized(desc, sizeof *desc, spatial_dims, kernel, stride, padding);
}

UPS_API upsStatus_t upsMaxPoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                         upsTensorDesc_t* y, upsTensorDesc_t* indices);
UPS_API upsStatus_t upsMaxPoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                      const void* x, const upsTensorDesc_t* y_desc, void* y,
                                      const upsTensorDesc_t* indices_desc, void* indices);

/* output_size: NULL for the default extents, else desc->spatial_dims explicit extents. */
UPS_API upsStatus_t upsMaxUnpoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                           const int64_t* output_size, upsTensorDesc_t* y);
UPS_API upsStatus_t upsMaxUnpoolWorkspaceSize(upsHandle_t handle, const upsPoolDesc_t* desc,
                                              const upsTensorDesc_t* x_desc, const upsTensorDesc_t* y_desc,
                                              size_t* workspace_bytes);
UPS_API upsStatus_t upsMaxUnpoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                        const void* x, const upsTensorDesc_t* indices_desc, const void* indices,
                                        const upsTensorDesc_t* y_desc, void* y);

/* ---------------------------------------------------------------------------------------------
 * Transposed convolution (fractionally strided convolution), 1-D, 2-D and 3-D
 *
 * PyTorch's ConvTranspose{1,2,3}d. Each input value scales a copy of the kernel into the output;
 * overlapping copies are summed:
 *   y[n, g*Cog + co, o] = bias[g*Cog + co]
 *       + sum over ci in group g, i, k with o = i*stride - pad_begin + k*dilation of
 *         x[n, ci, i] * w[ci, co, k]
 * Output extent per axis:
 *   (in-1)*stride - pad_begin - pad_end + dilation*(kernel-1) + output_padding + 1
 * Rules (PyTorch's): stride, dilation >= 1; pad_begin, pad_end >= 0; 0 <= output_padding <
 * max(stride, dilation); groups divides C_in and C_out. Weight: see the conventions above; its
 * dtype is x's. bias: NULL or C_out values of x's dtype. All of x, w, y share dtype and layout.
 * ------------------------------------------------------------------------------------------- */
typedef struct upsConvTransposeDesc_t {
  size_t struct_size; /* sizeof the caller's struct: set by upsConvTransposeDescInit, or 0 */
  int spatial_dims;
  int64_t stride[UPS_MAX_SPATIAL_DIMS];
  int64_t pad_begin[UPS_MAX_SPATIAL_DIMS];
  int64_t pad_end[UPS_MAX_SPATIAL_DIMS];
  int64_t output_padding[UPS_MAX_SPATIAL_DIMS];
  int64_t dilation[UPS_MAX_SPATIAL_DIMS];
  int64_t groups;
  upsAlgorithm_t algorithm;
  int deterministic; /* non-zero: only run-to-run deterministic algorithms (AUTO then never picks SCATTER_ATOMIC) */
  upsMathMode_t math_mode; /* UPS_MATH_DEFAULT unless the caller opts in to TF32 for f32 */
} upsConvTransposeDesc_t;

/* Defaults for spatial_dims axes: stride 1, padding 0, output_padding 0, dilation 1, groups 1,
 * AUTO, not deterministic. */
UPS_API upsStatus_t upsConvTransposeDescInitSized(upsConvTransposeDesc_t* desc, size_t struct_size, int spatial_dims);
static inline upsStatus_t upsConvTransposeDescInit(upsConvTransposeDesc_t* desc, int spatial_dims) {
  return upsConvTransposeDescInitSized(desc, sizeof *desc, spatial_dims);
}
/* Sets pad_begin = pad_end = padding[i] on every axis (PyTorch's symmetric `padding`). */
UPS_API upsStatus_t upsConvTransposeDescSetPadding(upsConvTransposeDesc_t* desc, const int64_t* padding);

UPS_API upsStatus_t upsConvTransposeOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                               const upsTensorDesc_t* w, upsTensorDesc_t* y);
UPS_API upsStatus_t upsConvTransposeWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                  const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                                  const upsTensorDesc_t* y_desc, size_t* workspace_bytes);
/* The algorithm AUTO would run for this problem on this handle (never AUTO itself). */
UPS_API upsStatus_t upsConvTransposeChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                    const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                                    const upsTensorDesc_t* y_desc, upsAlgorithm_t* algorithm);
/* The algorithm the CUDA backend would run for this problem on a GPU of the given compute
 * capability (major * 10 + minor: 75 or more, e.g. 90 for an H100), and why, without a handle or
 * a device (plans, benchmarks). The same decision as upsConvTransposeChooseAlgorithm's, including
 * desc->algorithm (a forced choice is returned as is), desc->deterministic and desc->math_mode; the
 * problem is validated as by upsConvTransposeForward, and a forced algorithm that could not run at
 * that capability gives the status the call would (e.g. IMPLICIT_GEMM on f16 below 80:
 * UPS_STATUS_NOT_SUPPORTED). *reason (reason may be NULL) receives a NUL-terminated text naming
 * the rule; it stays valid until the next call of this function on the same thread. */
UPS_API upsStatus_t upsConvTransposePlanAlgorithm(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x_desc,
                                                  const upsTensorDesc_t* w_desc, const upsTensorDesc_t* y_desc,
                                                  int compute_capability, upsAlgorithm_t* algorithm,
                                                  const char** reason);
UPS_API upsStatus_t upsConvTransposeForward(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                            const upsTensorDesc_t* x_desc, const void* x,
                                            const upsTensorDesc_t* w_desc, const void* w, const void* bias,
                                            const upsTensorDesc_t* y_desc, void* y);

/* ---------------------------------------------------------------------------------------------
 * Gradients (backward passes)
 *
 * Each op above is linear in the argument it is differentiated by, so each backward op is the
 * adjoint of a linear map: for all x and g, <forward(x), g> = <x, backward(g)>, and for transposed
 * convolution also <conv_transpose(x, w), g> = <w, backward_weight(x, g)>. Names: dy is the loss
 * gradient w.r.t. the forward output y (y's shape, dtype and layout); dx, dw and db are the
 * gradients w.r.t. the forward input x, the weight w and the bias (their shapes, dtype, layout).
 *
 * Shapes. The forward operands (x, w, indices) fix the geometry: dx has exactly x's shape, dw
 * exactly w's, and dy must have exactly the shape the forward op gives y for them. A dy, dx or
 * dw that disagrees is UPS_STATUS_GRADIENT_SHAPE_MISMATCH, with a message naming the argument and
 * the shape expected. Dtype and layout rules are the forward op's (UPS_STATUS_NOT_SUPPORTED).
 * The *BackwardOutputDesc queries compute dx (or dw) from dy and the other operands.
 *
 * Determinism. Every backward op has an algorithm that uses no atomics and is bit-identical run to
 * run; for the ops without an algorithm choice it is the only one. Transposed convolution's weight
 * and bias gradients honour the desc's algorithm and deterministic flag: GATHER is the blocked,
 * deterministic reduction described at upsConvTransposeBackwardWeight; SCATTER_ATOMIC adds the
 * block sums with atomics (not run-to-run deterministic); AUTO picks GATHER.
 * The data gradient has GATHER only: AUTO and GATHER run it, SCATTER_ATOMIC is NOT_SUPPORTED.
 *
 * Accumulation, as in the forward ops: f32 in f32, f64 in f64, f16/bf16 in float, rounded once.
 * Empty tensors succeed without launching; a zero-extent reduction writes zeros.
 * ------------------------------------------------------------------------------------------- */

/*
 * Unpooling backward.
 *   nearest:      dx[n, c, i] = sum of dy[n, c, o] over the scale cell o = i*scale + j, j in
 *                 [0, scale) per axis, summed in the cell's scan order (d, then h, then w)
 *   bed-of-nails: dx[n, c, i] = dy[n, c, i*scale] (a copy: bit-exact)
 * dx: x's shape; dy: the unpooled shape (dx's extents times scale); one dtype and layout.
 * upsUnpoolBackwardOutputDesc gives dx from dy (each dy extent must be a multiple of its scale).
 * No workspace.
 */
UPS_API upsStatus_t upsUnpoolBackwardOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy,
                                                upsTensorDesc_t* dx);
UPS_API upsStatus_t upsUnpoolBackward(upsHandle_t handle, const upsUnpoolDesc_t* desc,
                                      const upsTensorDesc_t* dy_desc, const void* dy,
                                      const upsTensorDesc_t* dx_desc, void* dx);

/*
 * Max-pooling backward: each pooled gradient is routed back to its switch, summed where windows
 * overlap:
 *   dx[n, c, i] = sum of dy[n, c, p] over the pooled positions p whose window contains i and
 *                 whose index indices[n, c, p] names i, summed in p's scan order (d, h, w).
 * dx_desc is x's descriptor; dy must have upsMaxPoolOutputDesc(desc, dx_desc)'s shape and
 * indices (I64 or I32) the same; indices are as upsMaxPoolForward wrote them. An index that names no
 * position of its own window (upsMaxPoolForward never writes one) contributes nothing, on every
 * backend; indices are not otherwise checked, so this op never synchronizes. No workspace.
 */
UPS_API upsStatus_t upsMaxPoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                                       const void* dy, const upsTensorDesc_t* indices_desc, const void* indices,
                                       const upsTensorDesc_t* dx_desc, void* dx);

/*
 * Max-unpooling backward: the gradient of each pooled value is dy read at its switch position:
 *   dx[n, c, p] = dy[n, c, indices[n, c, p]] (a copy: bit-exact)
 * dx has indices' shape (the forward x's) in dy's dtype and layout; dy has the forward y's shape
 * (the default extents, or explicit ones within one stride of them). Indices are checked as by
 * upsMaxUnpoolForward: one outside [0, plane) is UPS_STATUS_INDEX_OUT_OF_RANGE naming the first
 * offending position (synchronous checking: from the call, dx untouched, the stream synchronized;
 * asynchronous: from upsQueryRuntimeError, that element of dx 0). Duplicate indices (overlapping pooling windows produce
 * them) each read the same dy element — PyTorch's rule. upsMaxUnpoolForward keeps only the latest
 * of duplicates, so this is the adjoint of that op exactly when each plane's indices are distinct.
 * upsMaxUnpoolBackwardOutputDesc gives dx (indices' shape, dy's dtype and layout) and checks dy.
 */
UPS_API upsStatus_t upsMaxUnpoolBackwardOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                                   const upsTensorDesc_t* indices, upsTensorDesc_t* dx);
UPS_API upsStatus_t upsMaxUnpoolBackwardWorkspaceSize(upsHandle_t handle, const upsPoolDesc_t* desc,
                                                      const upsTensorDesc_t* dy_desc,
                                                      const upsTensorDesc_t* dx_desc, size_t* workspace_bytes);
UPS_API upsStatus_t upsMaxUnpoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                                         const void* dy, const upsTensorDesc_t* indices_desc, const void* indices,
                                         const upsTensorDesc_t* dx_desc, void* dx);

/*
 * Transposed convolution backward, data: the ordinary convolution of dy with the same weights,
 *   dx[n, ci, i] = sum over co in ci's group g, k with o = i*stride - pad_begin + k*dilation
 *                  inside dy of dy[n, g*Cog + co, o] * w[ci, co, k]
 * It reads dy only at those positions: no inserted zero is multiplied. dx: x's shape; dy: y's.
 * upsConvTransposeBackwardDataOutputDesc gives dx from dy and w: per axis
 * in = (out - 1 - output_padding + pad_begin + pad_end - dilation*(k-1)) / stride + 1, which must
 * divide exactly.
 * Algorithms (both deterministic: every dx is summed once, in a fixed order):
 *   IMPLICIT_GEMM: the same engine as the forward's, as the GEMM M = N x input positions,
 *     N = C_in/groups, K = taps x C_out/groups (tensor cores for f16/bf16 and, with
 *     UPS_MATH_ALLOW_TF32, f32; its CUDA-core twin for f32/f64); kernels of at most 16 taps per
 *     axis and 64 in all. Needs a workspace (upsConvTransposeBackwardDataWorkspaceSize: the
 *     repacked weights, and a packed copy of dy when dy is channels-first or C_out/groups is not a
 *     multiple of 16 bytes); dy read in place must be 16-byte aligned.
 *   GATHER: the direct gather, any shape, no workspace.
 *   AUTO: IMPLICIT_GEMM where it can run the problem and both sides have 8 or more channels per
 *     group, GATHER otherwise (upsConvTransposeBackwardDataChooseAlgorithm says which).
 *   SCATTER_ATOMIC: refused (UPS_STATUS_NOT_SUPPORTED): the data gradient has no scatter.
 */
UPS_API upsStatus_t upsConvTransposeBackwardDataOutputDesc(const upsConvTransposeDesc_t* desc,
                                                           const upsTensorDesc_t* dy, const upsTensorDesc_t* w,
                                                           upsTensorDesc_t* dx);
UPS_API upsStatus_t upsConvTransposeBackwardDataWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                              const upsTensorDesc_t* dy_desc,
                                                              const upsTensorDesc_t* w_desc,
                                                              const upsTensorDesc_t* dx_desc, size_t* workspace_bytes);
/* The algorithm AUTO would run for this data gradient on this handle (never AUTO). */
UPS_API upsStatus_t upsConvTransposeBackwardDataChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                                const upsTensorDesc_t* dy_desc,
                                                                const upsTensorDesc_t* w_desc,
                                                                const upsTensorDesc_t* dx_desc,
                                                                upsAlgorithm_t* algorithm);
UPS_API upsStatus_t upsConvTransposeBackwardData(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                 const upsTensorDesc_t* dy_desc, const void* dy,
                                                 const upsTensorDesc_t* w_desc, const void* w,
                                                 const upsTensorDesc_t* dx_desc, void* dx);

/*
 * Transposed convolution backward, weight: the correlation of x with dy, reduced over the batch
 * and the input positions:
 *   dw[ci, co, k] = sum over n, i with o = i*stride - pad_begin + k*dilation inside dy of
 *                   x[n, ci, i] * dy[n, g*Cog + co, o]
 * Only real input positions are visited (no inserted zero is multiplied). dw: w's shape (dtype and
 * layout as w's would be: x's dtype); dy: y's shape for x and dw's kernel extents.
 * upsConvTransposeBackwardWeightOutputDesc gives dw from x and dy: per axis
 * k = (out - 1 - output_padding + pad_begin + pad_end - (in-1)*stride) / dilation + 1, exactly.
 *
 * GATHER, a deterministic blocked reduction: for each tap k, the (n, i) positions that reach dy
 * are split into a number of fixed-length chunks that depends on the problem's shape only; one
 * block sums one chunk for a tile of (ci, co), each thread over a fixed residue class of
 * positions in ascending order, the threads' sums combined by a fixed binary tree; the chunk sums
 * go to a workspace, and a second pass adds them in ascending chunk order. The order of every
 * addition is thus fixed by the shape: bit-identical run to run. SCATTER_ATOMIC adds the chunk
 * sums with atomics instead (f16/bf16 into a float workspace). IMPLICIT_GEMM (f16/bf16, sm_80+):
 * per group and tap the GEMM M = C_in/groups, N = C_out/groups, K = N x input positions on tensor
 * cores (mma.sync, fragments by ldmatrix.trans from position-major tiles), K split into chunks fixed
 * by the shape alone, each chunk's f32 tile written to the workspace, then added in ascending chunk
 * order: bit-identical run to run. AUTO: IMPLICIT_GEMM where it can run the problem with 8 or more
 * channels per group on both sides, GATHER otherwise (never SCATTER_ATOMIC). Size the workspace
 * with upsConvTransposeBackwardWeightWorkspaceSize (0 on the reference backend).
 */
UPS_API upsStatus_t upsConvTransposeBackwardWeightOutputDesc(const upsConvTransposeDesc_t* desc,
                                                             const upsTensorDesc_t* x, const upsTensorDesc_t* dy,
                                                             upsTensorDesc_t* dw);
UPS_API upsStatus_t upsConvTransposeBackwardWeightWorkspaceSize(upsHandle_t handle,
                                                                const upsConvTransposeDesc_t* desc,
                                                                const upsTensorDesc_t* x_desc,
                                                                const upsTensorDesc_t* dy_desc,
                                                                const upsTensorDesc_t* dw_desc,
                                                                size_t* workspace_bytes);
/* The algorithm AUTO would run for this weight gradient on this handle (never AUTO). */
UPS_API upsStatus_t upsConvTransposeBackwardWeightChooseAlgorithm(upsHandle_t handle,
                                                                  const upsConvTransposeDesc_t* desc,
                                                                  const upsTensorDesc_t* x_desc,
                                                                  const upsTensorDesc_t* dy_desc,
                                                                  const upsTensorDesc_t* dw_desc,
                                                                  upsAlgorithm_t* algorithm);
UPS_API upsStatus_t upsConvTransposeBackwardWeight(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                   const upsTensorDesc_t* x_desc, const void* x,
                                                   const upsTensorDesc_t* dy_desc, const void* dy,
                                                   const upsTensorDesc_t* dw_desc, void* dw);

/*
 * Transposed convolution backward, bias: db[c] = sum over n, o of dy[n, c, o]; db holds C_out
 * values of dy's dtype (like the forward's bias). desc gives the rank, the algorithm and the
 * deterministic flag; GATHER is the same kind of blocked reduction as the weight gradient's
 * (fixed chunks of the (n, o) positions, a fixed tree per block, chunk sums added in ascending
 * order), SCATTER_ATOMIC adds the chunk sums with atomics. The bias gradient has no GEMM: AUTO and
 * IMPLICIT_GEMM (a desc shared with the weight gradient) run GATHER.
 */
UPS_API upsStatus_t upsConvTransposeBackwardBiasWorkspaceSize(upsHandle_t handle,
                                                              const upsConvTransposeDesc_t* desc,
                                                              const upsTensorDesc_t* dy_desc,
                                                              size_t* workspace_bytes);
UPS_API upsStatus_t upsConvTransposeBackwardBias(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                 const upsTensorDesc_t* dy_desc, const void* dy, void* db);

/* ---------------------------------------------------------------------------------------------
 * Interpolation (issue 13): PyTorch's torch.nn.functional.interpolate, forward and backward
 *
 * Modes and the ranks they exist for (as in PyTorch; any other rank is UPS_STATUS_NOT_SUPPORTED):
 *   NEAREST        1-, 2-, 3-D  src = min(floor(o * s), in - 1), s = the coordinate scale below as a
 *                               float (PyTorch's legacy rule; float arithmetic in every dtype)
 *   NEAREST_EXACT  1-, 2-, 3-D  src = min(floor((o + 0.5) * s), in - 1), float arithmetic (PIL, TF2)
 *   LINEAR         1-, 2-, 3-D  linear / bilinear / trilinear by rank: the two neighbours of
 *                               src = align_corners ? s*o : max(s*(o + 0.5) - 0.5, 0)
 *   BICUBIC        2-D          Keys' cubic, A = -0.75, four taps around src = align_corners ? s*o :
 *                               s*(o + 0.5) - 0.5, tap indices clamped to [0, in - 1]
 *   AREA           1-, 2-, 3-D  adaptive average pooling: output o averages the input cells
 *                               [floor(o*in/out), ceil((o+1)*in/out)) per axis
 * Coordinate arithmetic is PyTorch's, in its types: float for f32/f16/bf16, double for f64 (NEAREST
 * and NEAREST_EXACT always float). The coordinate scale s per axis is
 *   align_corners: (in - 1) / (out - 1), or 0 when out = 1
 *   otherwise:     1 / scale_factor when the scale factor is used for the mapping, else in / out.
 *
 * Output size: explicit (output_size[i] >= 1) or from per-axis scale factors:
 *   out = floor(in * scale_factor) (in double), which must be >= 1.
 * recompute_scale_factor (PyTorch's flag): when 0 the given scale factors are also the mapping's
 * (s = 1/scale_factor); when non-zero the mapping uses in/out of the computed size. AREA always
 * maps by in/out (adaptive pooling has no scale).
 *
 * antialias (PyTorch's, bilinear and bicubic 2-D only): the separable filter of PIL. Per axis with
 * coordinate scale s: support = (s >= 1 ? s : 1) * taps/2 (taps 2 for bilinear, 4 for bicubic),
 * center = s*(o + 0.5), window [max((int)(center - support + 0.5), 0), min((int)(center +
 * support + 0.5), in)), weight of input i = filter((i - center + 0.5) / max(s, 1)) normalized to
 * sum 1; filter is the tent 1-|x| (bilinear) or Keys' cubic with A = -0.5 (bicubic, as PIL and
 * PyTorch's antialias do). Accepted only when at least one axis downscales (out < in); on an axis
 * that does not, the same formula applies, as in PyTorch.
 *
 * Bad input, each with its own message: a mode outside the enum or a rank it lacks; both
 * output_size and scale_factor set, or neither (BAD_PARAMETER); a scale factor that is not finite
 * or not > 0 (BAD_PARAMETER); an output extent < 1 (BAD_EXTENT); align_corners with NEAREST,
 * NEAREST_EXACT or AREA (BAD_PARAMETER, PyTorch's ValueError); antialias with a mode other than
 * LINEAR 2-D / BICUBIC, or when no axis downscales (BAD_PARAMETER); zero input spatial extents
 * (BAD_EXTENT: PyTorch needs them >= 1; N = 0 or C = 0 is an empty op).
 *
 * Backward: dx[i] = sum over the outputs o whose stencil reaches i of weight(o, i) * dy[o], the
 * adjoint of the forward. Computed as an output-stationary gather over dx: per axis the outputs
 * whose stencils touch i are found exactly (by evaluating the forward stencil, not by an inverse
 * formula), and summed in ascending (d, h, w) order: no atomics, bit-identical run to run.
 * dx_desc is the forward x's descriptor; dy must have upsInterpolateOutputDesc(desc, dx_desc)'s
 * shape (GRADIENT_SHAPE_MISMATCH otherwise). dx cannot be derived from dy (out = floor(in*scale)
 * loses in), so there is no BackwardOutputDesc: pass the forward's x descriptor, as PyTorch passes
 * input_size. Accumulation: f32 in f32, f64 in f64, f16/bf16 in float. No workspace.
 * ------------------------------------------------------------------------------------------- */
typedef enum upsInterpolateMode_t {
  UPS_INTERPOLATE_NEAREST = 0,
  UPS_INTERPOLATE_NEAREST_EXACT = 1,
  UPS_INTERPOLATE_LINEAR = 2, /* linear (1-D), bilinear (2-D), trilinear (3-D) */
  UPS_INTERPOLATE_BICUBIC = 3,
  UPS_INTERPOLATE_AREA = 4
} upsInterpolateMode_t;

typedef struct upsInterpolateDesc_t {
  size_t struct_size;                     /* sizeof the caller's struct: set by upsInterpolateDescInit, or 0 */
  upsInterpolateMode_t mode;
  int spatial_dims;                       /* 1, 2 or 3 */
  int64_t output_size[UPS_MAX_SPATIAL_DIMS]; /* explicit output extents, or all 0 */
  double scale_factor[UPS_MAX_SPATIAL_DIMS]; /* per-axis scale factors, or all 0 */
  int align_corners;                      /* LINEAR and BICUBIC only */
  int antialias;                          /* LINEAR 2-D and BICUBIC, downscaling only */
  int recompute_scale_factor;             /* scale factors given: map by in/out of the computed size */
} upsInterpolateDesc_t;

/* Fills an interpolation descriptor: mode and rank; no size or scale yet (set output_size or
 * scale_factor by name afterwards), align_corners, antialias and recompute_scale_factor 0. */
UPS_API upsStatus_t upsInterpolateDescInitSized(upsInterpolateDesc_t* desc, size_t struct_size,
                                                upsInterpolateMode_t mode, int spatial_dims);
static inline upsStatus_t upsInterpolateDescInit(upsInterpolateDesc_t* desc, upsInterpolateMode_t mode,
                                                 int spatial_dims) {
  return upsInterpolateDescInitSized(desc, sizeof *desc, mode, spatial_dims);
}
UPS_API upsStatus_t upsInterpolateOutputDesc(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x,
                                             upsTensorDesc_t* y);
UPS_API upsStatus_t upsInterpolateForward(upsHandle_t handle, const upsInterpolateDesc_t* desc,
                                          const upsTensorDesc_t* x_desc, const void* x,
                                          const upsTensorDesc_t* y_desc, void* y);
UPS_API upsStatus_t upsInterpolateBackward(upsHandle_t handle, const upsInterpolateDesc_t* desc,
                                           const upsTensorDesc_t* dy_desc, const void* dy,
                                           const upsTensorDesc_t* dx_desc, void* dx);

/* ---------------------------------------------------------------------------------------------
 * Pixel shuffle and unshuffle (issue 13): PyTorch's PixelShuffle / PixelUnshuffle, 2-D and 3-D
 *
 * SHUFFLE, factor r, k = spatial_dims (2 or 3): x (N, C*r^k, H, W) -> y (N, C, H*r, W*r) with
 *   2-D: y[n, c, h*r + i, w*r + j]             = x[n, (c*r + i)*r + j, h, w]
 *   3-D: y[n, c, d*r + a, h*r + i, w*r + j]    = x[n, ((c*r + a)*r + i)*r + j, d, h, w]
 * UNSHUFFLE is its inverse (and its adjoint). Both move elements bit for bit. The backward of
 * each is the other: upsPixelShuffleBackward(desc, dy, dx) runs the inverse direction of
 * desc->direction. Bad input: r < 1 (BAD_PARAMETER); shuffle channels not divisible by r^k,
 * unshuffle spatial extents not divisible by r (SHAPE_MISMATCH); rank other than 2 or 3
 * (NOT_SUPPORTED: PyTorch's pixel shuffle is 2-D; the 3-D form is the same rule over D, H, W).
 * ------------------------------------------------------------------------------------------- */
typedef enum upsPixelShuffleDirection_t {
  UPS_PIXEL_SHUFFLE = 0,
  UPS_PIXEL_UNSHUFFLE = 1
} upsPixelShuffleDirection_t;

typedef struct upsPixelShuffleDesc_t {
  size_t struct_size;  /* sizeof the caller's struct: set by upsPixelShuffleDescInit, or 0 */
  upsPixelShuffleDirection_t direction;
  int spatial_dims;    /* 2 or 3 */
  int64_t factor;      /* r >= 1 */
} upsPixelShuffleDesc_t;

UPS_API upsStatus_t upsPixelShuffleDescInitSized(upsPixelShuffleDesc_t* desc, size_t struct_size,
                                                 upsPixelShuffleDirection_t direction, int spatial_dims,
                                                 int64_t factor);
static inline upsStatus_t upsPixelShuffleDescInit(upsPixelShuffleDesc_t* desc, upsPixelShuffleDirection_t direction,
                                                  int spatial_dims, int64_t factor) {
  return upsPixelShuffleDescInitSized(desc, sizeof *desc, direction, spatial_dims, factor);
}
UPS_API upsStatus_t upsPixelShuffleOutputDesc(const upsPixelShuffleDesc_t* desc, const upsTensorDesc_t* x,
                                              upsTensorDesc_t* y);
UPS_API upsStatus_t upsPixelShuffleForward(upsHandle_t handle, const upsPixelShuffleDesc_t* desc,
                                           const upsTensorDesc_t* x_desc, const void* x,
                                           const upsTensorDesc_t* y_desc, void* y);
/* dx has x's shape: upsPixelShuffleOutputDesc of the inverse direction applied to dy. */
UPS_API upsStatus_t upsPixelShuffleBackward(upsHandle_t handle, const upsPixelShuffleDesc_t* desc,
                                            const upsTensorDesc_t* dy_desc, const void* dy,
                                            const upsTensorDesc_t* dx_desc, void* dx);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UPSAMPLE_UPSAMPLE_H */
