#!/usr/bin/env python3
"""Writes fuzz/corpus/: seed inputs for upsample_api_fuzzer, one per case the tests check by hand.

The byte format is what api_fuzzer.cpp's LLVMFuzzerTestOneInput reads, in order; `pick(lo, hi)`
reads one byte b and returns lo + b % (hi - lo + 1), so a seed stores value - lo.
"""
import base64
import os

F32, F64, F16, BF16 = 0, 1, 2, 3
NCHW, NHWC = 0, 1
GATHER, SCATTER, AUTO = 2, 1, 0
KEEP = 0x0F  # maybe_perturbed: leave the descriptor as computed


def value(v):  # fill_values: integer v in [-8, 8]
    return (v + 8) % 17


def header(op, dims, dtype, layout, x, w=(1, 1, 1, 1, 1)):
    # op, dims, dtype, layout, x (n, c, s0, s1, s2), w (n, c, s0, s1, s2)
    out = [op, dims - 1, dtype, layout] + list(x) + list(w)
    # output_desc_calls: unpool mode, dims, 3 scales, 3 x (stride, dilation, pad_b, pad_e, out_pad), groups
    out += [0, dims, 2, 2, 2] + [1, 1, 0, 0, 0] * 3 + [1]
    return out


def unpool(mode, dims, dtype, layout, x, scale, values):
    return header(0, dims, dtype, layout, x) + [mode] + [s - 1 for s in scale] + [KEEP, 0] + \
        [value(v) for v in values] + [0]


def max_pool(dims, dtype, layout, x, kernel, stride, pad, dil, ceil, values):
    b = header(1, dims, dtype, layout, x)
    for i in range(3):
        b += [kernel[i] - 1, stride[i] - 1, pad[i], dil[i] - 1]
    return b + [ceil, KEEP, 0] + [value(v) for v in values] + [0]


def max_unpool(dims, dtype, layout, x, kernel, stride, values, indices):
    b = header(2, dims, dtype, layout, x)
    for i in range(3):
        b += [kernel[i] - 1, stride[i] - 1, 0, 0]
    return b + [0, KEEP] + [value(v) for v in values] + list(indices) + [0]


def conv(dims, dtype, layout, x, w, stride, dil, pb, pe, op, groups, algorithm, bias, xs, ws, bs):
    b = header(3, dims, dtype, layout, x, w)
    for i in range(3):
        b += [stride[i] - 1, dil[i] - 1, pb[i], pe[i], op[i]]
    b += [groups - 1, algorithm, 1, 1, KEEP, 1 if bias else 0, 0]
    return b + [value(v) for v in xs] + [value(v) for v in ws] + [value(v) for v in bs]


def interpolate(backward, dims, dtype, layout, x, mode, how, sizes, scale_indices, align, aa, recompute, values):
    # issue 13, ops 10 (forward) and 11 (backward): fuzzed_interpolate's bytes, then the two tensors.
    b = header(11 if backward else 10, dims, dtype, layout, x) + [mode, how]
    for i in range(3):
        if how in (0, 2):
            b += [sizes[i]]
        if how in (1, 2):
            b += [scale_indices[i]]  # into {0.3, 0.5, 1.0, 1.7, 2.0, 7/3, 0, -1, NaN, inf}
    return b + [align, aa, recompute, 0, KEEP, 0] + [value(v) for v in values] + [0]


def pixel_shuffle(backward, dims, dtype, layout, x, direction, factor, values):
    # issue 13, ops 12 (forward) and 13 (backward).
    return header(13 if backward else 12, dims, dtype, layout, x) + [direction, factor, KEEP, 0] + \
        [value(v) for v in values] + [0]


seeds = {
    # issue 13: bilinear 2x2 -> 4x4 (PyTorch's documented example), its gradient, nearest-exact at
    # scale 1.7, antialiased bicubic 6x6 -> 3x3, and PixelShuffle(2) on (1, 4, 1, 2) and its gradient.
    "interpolate_bilinear_2x2_to_4x4": interpolate(False, 2, F32, NCHW, (1, 1, 2, 2, 0), 2, 0, (4, 4, 0), None,
                                                   0, 0, 0, [1, 2, 3, 4]),
    "interpolate_bilinear_backward_align": interpolate(True, 2, F64, NHWC, (1, 2, 2, 2, 0), 2, 0, (4, 4, 0), None,
                                                       1, 0, 0, list(range(-8, 8)) * 2),
    "interpolate_nearest_exact_scale": interpolate(False, 1, F16, NCHW, (2, 1, 4, 0, 0), 1, 1, None, (3, 3, 3),
                                                   0, 0, 0, [0, 1, 2, 3, -1, -2, -3, -4]),
    "interpolate_bicubic_antialias": interpolate(False, 2, BF16, NHWC, (1, 1, 6, 6, 0), 3, 0, (3, 3, 0), None,
                                                 0, 1, 0, [(i * 5) % 17 - 8 for i in range(36)]),
    "pixel_shuffle_2x": pixel_shuffle(False, 2, F32, NCHW, (1, 4, 1, 2, 0), 0, 2, [0, 1, 2, 3, 4, 5, 6, 7]),
    "pixel_unshuffle_backward_nhwc": pixel_shuffle(True, 2, F16, NHWC, (1, 1, 2, 4, 0), 1, 2,
                                                   [1, -1, 2, -2, 3, -3, 4, -4]),
    # The course notes' worked example: [[2,0],[4,1]] (*) [[4,2,1],[1,0,3],[0,5,2]], stride 1.
    "conv_worked_example": conv(2, F32, NCHW, (1, 1, 2, 2, 0), (1, 1, 3, 3, 0), (1, 1, 1), (1, 1, 1), (0, 0, 0),
                                (0, 0, 0), (0, 0, 0), 1, GATHER, False, [2, 0, 4, 1], [4, 2, 1, 1, 0, 3, 0, 5, 2], []),
    # Stride 2, padding 1, output_padding 1, a 3x3 kernel of ones, with bias, scatter, f16 NHWC.
    "conv_stride2_padded_f16": conv(2, F16, NHWC, (1, 2, 2, 2, 0), (2, 1, 3, 3, 0), (2, 2, 1), (1, 1, 1), (1, 1, 0),
                                    (1, 1, 0), (1, 1, 0), 1, SCATTER, True, [1, 2, 3, 4, 1, 2, 3, 4], [1] * 18, [3]),
    "conv_grouped_dilated_3d": conv(3, F64, NCHW, (1, 2, 2, 2, 2), (2, 1, 2, 2, 2), (2, 1, 2), (1, 2, 1), (0, 1, 0),
                                    (1, 0, 0), (1, 0, 1), 2, AUTO, True, [1, -2, 3, -4, 5, -6, 7, -8] * 2,
                                    [1, 2, 3, 4, 5, 6, 7, 8] * 2, [1, -1]),
    "conv_1d_hifigan_like": conv(1, BF16, NCHW, (2, 2, 3, 0, 0), (2, 1, 4, 0, 0), (2, 1, 1), (1, 1, 1), (1, 0, 0),
                                 (1, 0, 0), (1, 0, 0), 1, GATHER, False, [1, 2, 3, 4, 5, 6] * 2, [1, -1, 2, -2] * 2, []),
    "unpool_nearest_2d": unpool(0, 2, F32, NCHW, (1, 1, 2, 2, 0), (2, 2, 1), [1, 2, 3, 4]),
    "unpool_bed_of_nails_3d_nhwc": unpool(1, 3, BF16, NHWC, (1, 2, 2, 1, 2), (2, 1, 3), [1, -1, 2, -2, 3, -3, 4, -4]),
    "max_pool_2x2": max_pool(2, F32, NCHW, (1, 1, 4, 4, 0), (2, 2, 1), (2, 2, 1), (0, 0, 0), (1, 1, 1), 0,
                             [1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 7, 8, 6, 1, 3, 2]),
    "max_pool_overlapping_ceil": max_pool(1, F16, NHWC, (1, 2, 5, 0, 0), (3, 1, 1), (2, 1, 1), (1, 0, 0), (1, 1, 1), 1,
                                          [1, -1, 3, 2, 3, 0, -2, 5, 4, 4]),
    "max_unpool_2x2": max_unpool(2, F32, NCHW, (1, 1, 2, 2, 0), (2, 2, 1), (2, 2, 1), [5, 8, 6, 8], [1, 6, 12, 11]),
    "max_unpool_duplicates_and_bad": max_unpool(1, F64, NCHW, (1, 1, 4, 0, 0), (2, 1, 1), (2, 1, 1), [1, 2, 3, 4],
                                                [3, 3, 0xFF, 0xFE]),
}

# Inputs the fuzzer once stopped on, kept as found (base64 of the raw bytes, decoded by the fuzzer's
# current reader: a change to that reader may change what they test, so each names its finding).
# Their first byte (the op) is stored as the op number itself since the reader took 14 ops (issue 13:
# byte % 14): as found it was 0xFF and 0x61, which byte % 10 read as ops 5 and 7.
regressions = {
    # Max-pool backward, stride 2^31-1 on a one-window axis: 32-bit indices must wait until stride and
    # dilation fit on their own (27cb47e).
    "regression_max_pool_backward_huge_stride":
        "BQMADwICgwAAAgH/BAAAAAECAgECAQEAAAABAQAAAAEAAM9n9gAQYQAAAAEAAAD+////AQEBArsCAtYAAQICAgE=",
    # Transposed-convolution data gradient, dilation 2^31-1 on a one-tap axis with padding 1:
    # ceil_div(1, 2^31-1) formed 1 + 2147483647 in int32 on the 32-bit path (issue 9). Fixed by the
    # overflow-free index helpers (cuda/common/index_math.cuh) and a rule that bounds dilation itself.
    "regression_conv_transpose_backward_data_huge_dilation":
        "Bw0HAG1tbcBtbQEBAQkAAgICKgIBAQAANwAAAAAAACdFAM9n9lsQYQAAAExMRUwBAQACAgLPZ/YAEGEAAABMTExMAQEAAgICKgIA",
    # Max-unpool of an empty x (n = 0) whose plane is 2^31-1 positions: the reference accepted it,
    # the CUDA backend's can_implement refused the plane (winners are elected in 32 bits) although an
    # empty x elects nothing. Found by a 5-minute fuzz run; the limit now applies to non-empty x only.
    "regression_max_unpool_empty_huge_plane":
        "AgEAACrPZ/YwW2EAAABMTEVMAQEAAgICz2f2ABBhAAAATExMTAABAAG319fX19fX19fX19fX19fXAgABAQEBAQAAAAG1AAICAs9n/gAQYQAAANfX19cCAAEB",
    # Transposed convolution forced onto IMPLICIT_GEMM with an input of no channels (K empty): the
    # kernel offset the null packed-weight and x pointers (UBSan: non-zero offset to a null pointer)
    # although it loads nothing. Found by the long fuzz run on a97a885; the loader is now skipped.
    "regression_implicit_gemm_no_input_channels":
        "AwECAQEUAgIAAgEDAwAAAgICAgEAAGDQAALx9AEBCQkJCQkJCeYKBwMBl5eXl5cAAfX+/P4J//4BAQEB8w8JCw==",
    # Transposed-convolution weight gradient forced onto IMPLICIT_GEMM with no output channels per
    # group: the split plan divided by the CTA count, 0 without channel tiles (UBSan: division by
    # zero), although dw is empty and nothing launches. Found by the long fuzz run on 8adb0fb.
    "regression_weight_gradient_no_channel_tiles":
        "9o6Ojo6OjivPSgAQYQAAWFhYWAZYWLBYWFhYWFhYjgEBAAAAAQABAQGOAgAAjgEAAAApC/8CDQwMAP8LCAwACwEBjo6Ojo4BjgEAAgIBAAAAAAAADwAJCgsMAA==",
    # Transposed convolution forced onto IMPLICIT_GEMM with groups near 2^62: the engine's plan
    # multiplied groups by the stride phases before bounding groups (UBSan: signed overflow). Found
    # by CI's 60-second fuzz stage on bf81590 once the harness forced the engine.
    "regression_implicit_gemm_huge_groups":
        "AwECAQEUAgIAAkEDAwAAAm1tbW1tbW1tbQJBA29tbW1tbW1tbW2Xl5dgYGBgBgYAAf/5DwAAb21tbW1tbW1tbZeXl2BgYGAGBgAB//kPAAAFCg+rAwgNAQAB9QEB8w8JCw==",
    # Max-unpool, 1-D, kernel = stride = padding = 2^31 on a 2-position x: small tensors took the
    # 32-bit path and the tiled kernel formed q*stride - padding in int32 (UBSan: 0 - -2^31). Found by
    # the long fuzz run on 92d2508; the index-width rule now bounds the window coordinates too.
    "regression_max_unpool_huge_stride_padding":
        "AgAAAgICAgEBAAAAAQEAy8vLy8vLy8sAAAEBAAAAAAD19fX19fX19fUN9Q==",
    # The harness itself: a 3-D f16 problem with one channel per group (kernel 4x4x4, 1800 output
    # positions) forced onto IMPLICIT_GEMM ran 2.5e8 tile-padded multiply-adds in the emulation,
    # about 30 s (a libFuzzer timeout; a GPU takes microseconds). Found by the long fuzz run on
    # a92c71e; the harness now runs GATHER above 2^25 padded multiply-adds (engine_within_budget).
    "regression_harness_engine_padded_work":
        "Az4CAoN6GJeDAsoGCwQNAg8ACQ4NDgsMDQ4P////EAkKCwDAYQAAAQANAgMHAG1tbQM7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7OyM7OzsPAM7OO8Y=",
    # The harness itself: a bf16 3-D transposed convolution forced onto IMPLICIT_GEMM with a D stride
    # of 65536 and a misaligned x: the reference refused the pointer (MISALIGNED, the data check) and
    # the CUDA backend the stride (NOT_SUPPORTED, the engine's can_implement, which the entry path
    # runs first). Both right; the harness had excused an engine refusal only where the reference
    # succeeded. Found by the long fuzz run on d6d2ce7.
    "regression_harness_engine_refusal_before_data_check":
        "Az4XAgECAQOXAgIzAgEBAQF5eXl5eXmpeXF5DQcBAv7D/P/7Pz8/Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nz9EPz8/Pz8/Pz8/Py4/Pz8/Pz8/Pz8/Pz8/PzuOxg==",
    # The harness itself: pixel shuffle offered an I64 x, whose image the harness filled with a NaN
    # (UBSan: NaN converted to int64). Specials are now for float images only.
    "regression_harness_i64_image_special_values":
        "DQ0NWE0NDQ0NAQ0sDR0NIwAAAQINDUdHubi4uFN0NWN0eXBlSWNFDQ0N//o=",
}

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "corpus"), exist_ok=True)
for name, encoded in regressions.items():
    seeds[name] = list(base64.b64decode(encoded))
for name, data in seeds.items():
    assert all(0 <= b < 256 for b in data), name
    with open(os.path.join(here, "corpus", name), "wb") as f:
        f.write(bytes(data))
print(f"wrote {len(seeds)} seeds to {os.path.join(here, 'corpus')}")
