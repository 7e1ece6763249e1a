// Vector loads and stores: one 16-, 8- or 4-byte memory instruction for several elements.
//
// NOTE [ Vector access alignment ]
// A vector access of B bytes (B = 16, 8 or 4) must start at an address that is a multiple of B:
// the GPU faults on a misaligned vector access (the emulation does not: on the CPU it just works,
// so only this rule, checked on the host, keeps a GPU run from faulting). A kernel that moves
// B-byte vectors through a tensor therefore needs, checked by its launcher before it picks the
// vector kernel:
//   1. the base pointer aligned to B (vector_aligned(pointer, B)), and
//   2. every vector to start at an element offset that is a multiple of B / sizeof(element):
//      the innermost extent it vectorizes along (w channels-first, C channels-last) and every
//      stride it steps by a multiple of that lane count.
// Otherwise the launcher takes the scalar kernel. cudaMalloc returns 256-byte aligned memory, but
// callers may pass offsets into it, so the pointer check is never skipped.
#pragma once

#include <cstdint>

#include "platform.cuh"

namespace upsample::cuda {

// The storage word of a B-byte vector access.
template <int Bytes>
struct VectorWord;
template <>
struct VectorWord<16> {
  using type = uint4;
};
template <>
struct VectorWord<8> {
  using type = uint2;
};
template <>
struct VectorWord<4> {
  using type = uint32_t;
};

// kLanes consecutive elements aligned to their size, so one load or store of sizeof(T) * kLanes
// bytes (16, 8, 4 or 2) moves them all. Kernels fill and read it by lane; ptxas keeps the lanes in
// registers (no local memory) as long as every lane index is a compile-time constant.
template <typename T, int kLaneCount>
struct alignas(sizeof(T) * kLaneCount) LaneVector {
  static constexpr int kLanes = kLaneCount;
  T lane[kLaneCount];
};

// The 16-byte vector of T: the width every data-movement kernel stores.
template <typename T>
using Vector16 = LaneVector<T, 16 / static_cast<int>(sizeof(T))>;

// Host-side check of rule 1 of NOTE [ Vector access alignment ].
inline bool vector_aligned(const void* pointer, int bytes) {
  return reinterpret_cast<uintptr_t>(pointer) % static_cast<uintptr_t>(bytes) == 0;
}

// Elements of `element_bytes` per B-byte vector (rule 2's lane count).
constexpr int vector_lanes(int bytes, int element_bytes) { return bytes / element_bytes; }

// Every vector access of a kernel goes through the four functions below. On the GPU a vector
// access at an address that is not a multiple of its size faults (cudaErrorMisalignedAddress);
// the CPU does not, so under the emulation each access checks its address and fails the launch
// the same way (ups_emu::detail::misaligned_vector_access). A launcher whose alignment rule is
// wrong then fails the emulated tests instead of a GPU run. Under nvcc the check is not compiled.
template <int Bytes>
__device__ __forceinline__ void check_vector_alignment(const void* pointer) {
#if defined(UPS_EMULATION)
  if (reinterpret_cast<uintptr_t>(pointer) % Bytes != 0) ups_emu::detail::misaligned_vector_access(pointer, Bytes);
#else
  (void)pointer;
#endif
}

// One B-byte load from `pointer`, which must be B-byte aligned.
template <int Bytes>
__device__ __forceinline__ typename VectorWord<Bytes>::type load_vector(const void* pointer) {
  check_vector_alignment<Bytes>(pointer);
  return *static_cast<const typename VectorWord<Bytes>::type*>(pointer);
}

// One B-byte store to `pointer`, which must be B-byte aligned.
template <int Bytes>
__device__ __forceinline__ void store_vector(void* pointer, typename VectorWord<Bytes>::type value) {
  check_vector_alignment<Bytes>(pointer);
  *static_cast<typename VectorWord<Bytes>::type*>(pointer) = value;
}

// One load of a whole LaneVector from `pointer`, which must be aligned to the vector's size.
template <typename Vector>
__device__ __forceinline__ Vector load_lanes(const void* pointer) {
  check_vector_alignment<static_cast<int>(sizeof(Vector))>(pointer);
  return *static_cast<const Vector*>(pointer);
}

// One store of a whole LaneVector to `pointer`, which must be aligned to the vector's size.
template <typename Vector>
__device__ __forceinline__ void store_lanes(void* pointer, const Vector& value) {
  check_vector_alignment<static_cast<int>(sizeof(Vector))>(pointer);
  *static_cast<Vector*>(pointer) = value;
}

}  // namespace upsample::cuda
