// Pixel shuffle and unshuffle (PyTorch's PixelShuffle / PixelUnshuffle; 2-D and 3-D), host side:
// validation, output shapes and the CPU reference, forward and backward. Entry points: api.cpp;
// kernels: cuda/pixel_shuffle/.
#pragma once

#include <cstddef>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t pixel_shuffle_desc_init(upsPixelShuffleDesc_t* desc, size_t struct_size,
                                    upsPixelShuffleDirection_t direction, int spatial_dims, int64_t factor);
upsStatus_t pixel_shuffle_output_desc(const upsPixelShuffleDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y);
upsStatus_t validate_pixel_shuffle(const upsPixelShuffleDesc_t* desc, const upsTensorDesc_t* x,
                                   const upsTensorDesc_t* y, PixelShuffleProblem* problem);
// Backward: dx has the forward x's shape; the data moves the other way.
upsStatus_t validate_pixel_shuffle_backward(const upsPixelShuffleDesc_t* desc, const upsTensorDesc_t* dy,
                                            const upsTensorDesc_t* dx, PixelShuffleProblem* problem);

}  // namespace upsample::detail

namespace upsample::reference {

// Moves every element between problem.packed and problem.spatial, in problem.to_spatial's direction.
upsStatus_t pixel_shuffle(const detail::PixelShuffleProblem& problem, const void* source, void* destination);

}  // namespace upsample::reference
