// Reading and writing the public descriptors across versions (NOTE [ Descriptor versions ]).
//
// NOTE [ Descriptor versions ]
// Every public descriptor struct starts with `size_t struct_size`, the sizeof the caller compiled
// against, and later releases only append fields. The library never reads a descriptor's fields
// through the caller's pointer before read_desc() has checked struct_size, and reads a
// descriptor's bytes only up to struct_size:
//   - read_desc(user, name, out): *out = this release's defaults (DescTraits<T>::defaults()), then
//     the caller's first struct_size bytes over them. struct_size 0 means kBaseSize (the first
//     versioned layout: zero-initialised descriptors filled by hand keep working); a size in
//     [kBaseSize, sizeof(T)] is copied as it is; anything else is BAD_PARAMETER naming
//     "<name>.struct_size". out->struct_size is the effective size (kBaseSize for 0), so reading
//     a copy again gives the same copy.
//   - write_desc(value, user): the library writes an output descriptor (an *OutputDesc result)
//     with value.struct_size bytes: the size of the input descriptor it was derived from (`like`
//     copies it), never more than that caller's struct holds.
//   - The ...InitSized functions write exactly the struct_size their caller passes (its sizeof).
// Where read: each validation function (src/ops/<family>/validate.cpp) reads its descriptor
// arguments at its top through DescArg, and make_geometry reads every tensor descriptor, so an op,
// an *OutputDesc and a *WorkspaceSize query check struct_size before anything else of theirs. The
// op rows of src/ops/<family>/api.cpp then read a few first-layout fields (the conv desc's
// algorithm, deterministic, math_mode) through the caller's pointer, after validation passed: a
// field appended later must come from a read_desc copy instead.
// Appending a field F to a descriptor T: (1) leave kBaseSize at the first layout's size and put F
// at an offset >= every earlier release's sizeof(T) (add explicit padding members if the old
// struct had tail padding, or F would land in bytes old callers never initialised); (2) give F its
// default in DescTraits<T>::defaults(): the value that keeps an old caller's behaviour; (3) read F
// only from read_desc's copy. The static_asserts below fail on the first append, to send whoever
// appends here.
#pragma once

#include <cstddef>
#include <cstring>

#include "core/status.h"
#include "upsample/upsample.h"

namespace upsample::detail {

// The end of a struct's member `last` rounded up to the struct's alignment: the sizeof a struct
// ending with that member had.
#define UPS_DESC_END(T, last) \
  ((offsetof(T, last) + sizeof(static_cast<T*>(nullptr)->last) + alignof(T) - 1) / alignof(T) * alignof(T))

template <typename T>
struct DescTraits;

template <>
struct DescTraits<upsTensorDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsTensorDesc_t, spatial);
  static constexpr const char* kInit = "upsTensorDescInit";
  static upsTensorDesc_t defaults() { return upsTensorDesc_t{}; }
};

template <>
struct DescTraits<upsUnpoolDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsUnpoolDesc_t, scale);
  static constexpr const char* kInit = "upsUnpoolDescInit";
  static upsUnpoolDesc_t defaults() { return upsUnpoolDesc_t{}; }
};

template <>
struct DescTraits<upsPoolDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsPoolDesc_t, ceil_mode);
  static constexpr const char* kInit = "upsPoolDescInit";
  static upsPoolDesc_t defaults() { return upsPoolDesc_t{}; }
};

template <>
struct DescTraits<upsConvTransposeDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsConvTransposeDesc_t, math_mode);
  static constexpr const char* kInit = "upsConvTransposeDescInit";
  // A field appended later defaults to what an old caller got: math_mode's UPS_MATH_DEFAULT is 0.
  static upsConvTransposeDesc_t defaults() { return upsConvTransposeDesc_t{}; }
};

// The first versioned layout is this release's whole struct. See NOTE [ Descriptor versions ]
// before changing any of these.
static_assert(DescTraits<upsTensorDesc_t>::kBaseSize == sizeof(upsTensorDesc_t), "see NOTE [ Descriptor versions ]");
static_assert(DescTraits<upsUnpoolDesc_t>::kBaseSize == sizeof(upsUnpoolDesc_t), "see NOTE [ Descriptor versions ]");
static_assert(DescTraits<upsPoolDesc_t>::kBaseSize == sizeof(upsPoolDesc_t), "see NOTE [ Descriptor versions ]");
static_assert(DescTraits<upsConvTransposeDesc_t>::kBaseSize == sizeof(upsConvTransposeDesc_t),
              "see NOTE [ Descriptor versions ]");
static_assert(offsetof(upsTensorDesc_t, struct_size) == 0 && offsetof(upsUnpoolDesc_t, struct_size) == 0 &&
                  offsetof(upsPoolDesc_t, struct_size) == 0 && offsetof(upsConvTransposeDesc_t, struct_size) == 0,
              "struct_size is every descriptor's first member");

// The size a caller's struct_size stands for (0: the first layout), or 0 if it is out of range.
// The sizes are parameters so the rule can be tested on layouts other than this release's.
inline size_t effective_desc_size(size_t struct_size, size_t base_size, size_t current_size) {
  if (struct_size == 0) return base_size;
  return struct_size >= base_size && struct_size <= current_size ? struct_size : 0;
}

inline upsStatus_t bad_struct_size(const char* name, size_t struct_size, size_t base_size, size_t current_size,
                                   const char* init_name) {
  if (base_size == current_size)
    return fail(UPS_STATUS_BAD_PARAMETER, name, ".struct_size: expected 0 or ", base_size, " (initialise it with ",
                init_name, "), got ", struct_size);
  return fail(UPS_STATUS_BAD_PARAMETER, name, ".struct_size: expected 0 or between ", base_size, " and ", current_size,
              " (initialise it with ", init_name, "), got ", struct_size);
}

// The generic form of read_desc: defaults, then the caller's first effective-size bytes; sets the
// copy's struct_size (the first size_t) to the effective size.
inline upsStatus_t read_desc_bytes(const void* user, const char* name, size_t base_size, size_t current_size,
                                   const char* init_name, void* out) {
  size_t struct_size = 0;
  std::memcpy(&struct_size, user, sizeof struct_size);
  const size_t bytes = effective_desc_size(struct_size, base_size, current_size);
  if (bytes == 0) return bad_struct_size(name, struct_size, base_size, current_size, init_name);
  std::memcpy(out, user, bytes);
  std::memcpy(out, &bytes, sizeof bytes);
  return UPS_STATUS_SUCCESS;
}

// NOTE [ Descriptor versions ]: the one way the library reads a caller's descriptor.
template <typename T>
upsStatus_t read_desc(const T* user, const char* name, T* out) {
  if (user == nullptr) return fail(UPS_STATUS_NULL_POINTER, name, ": descriptor is null");
  T value = DescTraits<T>::defaults();
  UPS_RETURN_IF_ERROR(read_desc_bytes(user, name, DescTraits<T>::kBaseSize, sizeof(T), DescTraits<T>::kInit, &value));
  *out = value;
  return UPS_STATUS_SUCCESS;
}

// NOTE [ Descriptor versions ]: the one way the library writes a descriptor for its caller:
// value.struct_size bytes (the input's effective size; sizeof(T) if value was never sized).
template <typename T>
void write_desc(const T& value, T* user) {
  size_t bytes = effective_desc_size(value.struct_size, DescTraits<T>::kBaseSize, sizeof(T));
  if (bytes == 0) bytes = sizeof(T);
  std::memcpy(static_cast<void*>(user), &value, bytes);
  std::memcpy(static_cast<void*>(user), &bytes, sizeof bytes);
}

// The start of an ...InitSized function: `desc` is not null and `struct_size` (the caller's sizeof)
// is one this library reads; *value is then the defaults sized to it, for the function to fill
// and hand to write_desc.
template <typename T>
upsStatus_t begin_init(const T* desc, size_t struct_size, T* value) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "desc: descriptor to fill is null");
  const size_t bytes = effective_desc_size(struct_size, DescTraits<T>::kBaseSize, sizeof(T));
  if (bytes == 0)
    return bad_struct_size("desc", struct_size, DescTraits<T>::kBaseSize, sizeof(T), DescTraits<T>::kInit);
  *value = DescTraits<T>::defaults();
  value->struct_size = bytes;
  return UPS_STATUS_SUCCESS;
}

// A caller's descriptor argument as the validation code sees it: null stays null (each function
// reports a null descriptor in its own words), anything else is read_desc's copy. It converts to
// `const T*` and dereferences like the pointer it replaces, so a function's body reads the copy
// unchanged once its parameter is renamed and read at the top.
template <typename T>
class DescArg {
 public:
  DescArg() = default;
  DescArg(const DescArg&) = delete;  // pointer_ points into this object
  DescArg& operator=(const DescArg&) = delete;
  upsStatus_t read(const T* user, const char* name) {
    if (user == nullptr) {
      pointer_ = nullptr;
      return UPS_STATUS_SUCCESS;
    }
    UPS_RETURN_IF_ERROR(read_desc(user, name, &value_));
    pointer_ = &value_;
    return UPS_STATUS_SUCCESS;
  }
  operator const T*() const { return pointer_; }  // NOLINT: stands in for the pointer parameter
  const T* operator->() const { return pointer_; }
  const T& operator*() const { return *pointer_; }

 private:
  T value_{};
  const T* pointer_ = nullptr;
};

}  // namespace upsample::detail
