// libFuzzer target: the public API under arbitrary descriptors, parameters and data.
//
// Each input is decoded into one call of one op (unpool, max-pool, max-unpool, transposed
// convolution, and each of their gradients) with descriptors and parameters that are usually small and sensible and now and
// then hostile (negative, zero, 2^31, 2^62, INT64_MIN...). The call runs on the REFERENCE backend
// and on the emulated CUDA backend (this target links the emulated library: the CUDA kernels run
// on the CPU), on buffers with guard zones around them. Then:
//   - neither backend may crash, hang, or write outside an output buffer (guards intact, inputs
//     unchanged; AddressSanitizer watches every access as well);
//   - a rejection carries a status other than success, the same on both backends, and a
//     non-empty message, and changes no byte of any buffer;
//   - an acceptance produces the same output on both backends. Transposed-convolution data are
//     small integers, so every sum is exact in every dtype (TF32 included) and the outputs must
//     agree exactly. One asymmetry is the contract: the reference backend has no algorithms, so
//     a transposed convolution (or gradient) forced onto IMPLICIT_GEMM may be refused by the CUDA
//     backend alone, with NOT_SUPPORTED, MISALIGNED or OVERFLOW (the engine's can_implement), where
//     the reference succeeds or, since can_implement runs before the data check, where it refuses a
//     pointer (null, misaligned, wrong memory, aliasing).
// Any violation prints what happened and traps, so libFuzzer keeps the input.
//
// Build with the `fuzz` preset (clang, libFuzzer); see README "Reliability".
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/platform.cuh"
#include "src/reference_element.h"
#include "upsample/upsample.h"

namespace {

// Largest tensor the fuzzer allocates; larger (valid) problems are checked through their
// output-shape function only.
constexpr int64_t kMaxElements = int64_t{1} << 14;
constexpr size_t kGuardBytes = 64;
constexpr unsigned char kGuardByte = 0xA5;
constexpr unsigned char kUnwrittenByte = 0x5A;

// What the current input decoded to, printed with a violation.
std::string g_problem;

std::string desc_text(const upsTensorDesc_t& d) {
  int dtype, layout;
  std::memcpy(&dtype, &d.dtype, sizeof dtype);
  std::memcpy(&layout, &d.layout, sizeof layout);
  std::string t = "{dtype " + std::to_string(dtype) + ", layout " + std::to_string(layout) + ", dims " +
                  std::to_string(d.spatial_dims) + ", n " + std::to_string(d.n) + ", c " + std::to_string(d.c) + ", spatial";
  for (int i = 0; i < 3; ++i) t += " " + std::to_string(d.spatial[i]);
  return t + "}";
}

std::string extents_text(const char* name, const int64_t* v) {
  return std::string(" ") + name + " (" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " +
         std::to_string(v[2]) + ")";
}

[[noreturn]] void violation(const std::string& what) {
  std::fprintf(stderr, "upsample fuzzer: %s\nproblem: %s\n", what.c_str(), g_problem.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return position_ < size_ ? data_[position_++] : 0; }
  // A value in [lo, hi], or one time in sixteen a hostile value.
  int64_t pick(int64_t lo, int64_t hi) {
    const uint8_t b = u8();
    if ((b & 0xF0) == 0xF0) return hostile(b & 0x0F);
    return lo + static_cast<int64_t>(b) % (hi - lo + 1);
  }

 private:
  static int64_t hostile(int which) {
    static const int64_t kValues[16] = {-1,
                                        0,
                                        -7,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min(),
                                        int64_t{1} << 31,
                                        (int64_t{1} << 31) - 1,
                                        int64_t{1} << 32,
                                        int64_t{1} << 40,
                                        int64_t{1} << 62,
                                        -(int64_t{1} << 40),
                                        65536,
                                        3,
                                        1,
                                        2,
                                        (int64_t{1} << 31) + 1};
    return kValues[which];
  }
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

// Stores a fuzzed integer into an enum field the way a C caller can: as bits. (A C++ cast of an
// out-of-range value to the enum type would itself be undefined.)
template <typename Enum>
void store_raw(Enum* field, int64_t value) {
  const int raw = static_cast<int>(value);
  std::memcpy(field, &raw, sizeof raw);
}

// A descriptor's dtype as the int it holds (it may be no valid enumerator at all).
int raw_dtype(const upsTensorDesc_t& d) {
  int raw;
  std::memcpy(&raw, &d.dtype, sizeof raw);
  return raw;
}

bool valid_dtype(int dtype) { return dtype >= UPS_DTYPE_F32 && dtype <= UPS_DTYPE_I32; }
bool index_dtype(int dtype) { return dtype == UPS_DTYPE_I64 || dtype == UPS_DTYPE_I32; }

int64_t bytes_per_element(int dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return 4;
    case UPS_DTYPE_F64: return 8;
    case UPS_DTYPE_F16: return 2;
    case UPS_DTYPE_BF16: return 2;
    case UPS_DTYPE_I64: return 8;
    case UPS_DTYPE_I32:
      return 4;
  }
  return 1;
}

// Elements of a descriptor if it is small and sane, else -1 (never allocated, never run).
int64_t small_element_count(const upsTensorDesc_t& d) {
  if (d.spatial_dims < 1 || d.spatial_dims > 3 || d.n < 0 || d.c < 0) return -1;
  int64_t count = d.n;
  if (__builtin_mul_overflow(count, d.c, &count)) return -1;
  for (int i = 0; i < d.spatial_dims; ++i)
    if (d.spatial[i] < 0 || __builtin_mul_overflow(count, d.spatial[i], &count)) return -1;
  return count <= kMaxElements ? count : -1;
}

upsTensorDesc_t fuzzed_desc(Bytes& in, int dims, int64_t dtype, int64_t layout) {
  upsTensorDesc_t d{};
  store_raw(&d.dtype, dtype);
  store_raw(&d.layout, layout);
  d.spatial_dims = dims;
  d.n = in.pick(0, 2);
  d.c = in.pick(0, 4);
  for (int i = 0; i < 3; ++i) d.spatial[i] = in.pick(0, 6);
  return d;
}

// One argument buffer, as an image of bytes: guard, data, guard.
struct Image {
  std::vector<unsigned char> bytes;
  size_t data_bytes = 0;
  size_t misalign = 0;  // bytes the data pointer is shifted by (a fuzzed misaligned pointer)
  unsigned char* data() { return bytes.data() + kGuardBytes + misalign; }
};

Image make_image(size_t data_bytes, size_t misalign, bool output) {
  Image image;
  image.data_bytes = data_bytes;
  image.misalign = misalign;
  image.bytes.assign(kGuardBytes * 2 + data_bytes + misalign, kGuardByte);
  if (output) std::memset(image.data(), kUnwrittenByte, data_bytes);
  return image;
}

// Small values in every dtype: integers in [-8, 8] (exact everywhere), and for data-movement
// ops an occasional NaN or infinity.
void fill_values(Bytes& in, Image& image, int dtype, int64_t count, bool specials) {
  if (!valid_dtype(dtype)) return;
  // Written through an aligned buffer: the image's data may be deliberately misaligned.
  std::vector<double> staging(static_cast<size_t>(count) + 1);
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t b = in.u8();
    double value = static_cast<double>(static_cast<int>(b % 17) - 8);
    // No NaN or infinity in an integer image (the fuzzer also offers I64 and I32 where floats
    // belong, which the op then refuses): converting them to an integer is undefined.
    const bool float_specials = specials && !index_dtype(dtype);
    if (float_specials && b == 0xFE) value = std::numeric_limits<double>::infinity();
    if (float_specials && b == 0xFF) value = std::nan("");
    upsample::reference::store(static_cast<upsDataType_t>(dtype), staging.data(), i, value);
  }
  std::memcpy(image.data(), staging.data(), static_cast<size_t>(count * bytes_per_element(dtype)));
}

// The same images on both backends: host memory for REFERENCE, device memory for CUDA.
class Placed {
 public:
  Placed(upsBackend_t backend, const Image& image) : backend_(backend), size_(image.bytes.size()) {
    if (backend_ == UPS_BACKEND_CUDA) {
      if (cudaMalloc(reinterpret_cast<void**>(&base_), size_) != cudaSuccess) violation("cudaMalloc failed");
      cudaMemcpy(base_, image.bytes.data(), size_, cudaMemcpyHostToDevice);
    } else {
      host_ = image.bytes;
      base_ = host_.data();
    }
    data_ = base_ + kGuardBytes + image.misalign;
  }
  ~Placed() {
    if (backend_ == UPS_BACKEND_CUDA) cudaFree(base_);
  }
  Placed(const Placed&) = delete;
  Placed& operator=(const Placed&) = delete;
  void* data() const { return data_; }
  std::vector<unsigned char> read() const {
    if (backend_ != UPS_BACKEND_CUDA) return host_;
    std::vector<unsigned char> out(size_);
    cudaMemcpy(out.data(), base_, size_, cudaMemcpyDeviceToHost);
    return out;
  }

 private:
  upsBackend_t backend_;
  size_t size_;
  unsigned char* base_ = nullptr;
  unsigned char* data_ = nullptr;
  std::vector<unsigned char> host_;
};

struct Argument {
  const char* name;
  Image image;
  bool output;
  int dtype;  // raw: compared only after a success, when it is known to be valid
  int64_t count;
};

Argument argument(const char* name, size_t data_bytes, size_t misalign, bool output, int dtype,
                  int64_t count) {
  return Argument{name, make_image(data_bytes, misalign, output), output, dtype, count};
}

// Adds a tensor argument sized by its descriptor; false (nothing added) when the descriptor is
// not small and sane, and then the call is not made.
bool add_tensor(std::vector<Argument>& args, Bytes& in, const char* name, const upsTensorDesc_t& desc, bool output,
                bool specials = false, size_t misalign = 0) {
  const int64_t count = small_element_count(desc);
  if (count < 0) return false;
  const int dtype = raw_dtype(desc);
  args.push_back(argument(name, static_cast<size_t>(count * bytes_per_element(dtype)), misalign, output, dtype, count));
  if (!output) fill_values(in, args.back().image, dtype, count, specials);
  return true;
}

// The switches' dtype of a max-pool family call: I64 (PyTorch's) or I32.
upsDataType_t fuzzed_switch_dtype(Bytes& in) { return in.pick(0, 1) == 0 ? UPS_DTYPE_I64 : UPS_DTYPE_I32; }

// Switches of `dtype` (I64 or I32) into `image`: mostly inside `plane` (duplicates likely),
// sometimes just outside or far outside it (the dtype's largest value).
void fill_switches(Bytes& in, Image& image, int dtype, int64_t count, int64_t plane) {
  for (int64_t e = 0; e < count; ++e) {
    const uint8_t b = in.u8();
    const int64_t far =
        dtype == UPS_DTYPE_I32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
    const int64_t value = b == 0xFF ? plane : b == 0xFE ? -1 : b == 0xFD ? far : b % plane;
    if (dtype == UPS_DTYPE_I32) {
      const int32_t narrow = static_cast<int32_t>(value);  // plane fits: the fuzzer's tensors are small
      std::memcpy(image.data() + e * 4, &narrow, 4);
    } else {
      std::memcpy(image.data() + e * 8, &value, 8);
    }
  }
}

// An indices argument of desc's dtype (I64 or I32) for a plane of `plane` positions.
bool add_indices(std::vector<Argument>& args, Bytes& in, const upsTensorDesc_t& desc, int64_t plane) {
  const int64_t count = small_element_count(desc);
  const int dtype = raw_dtype(desc);
  if (count < 0 || plane < 1 || !index_dtype(dtype)) return false;
  args.push_back(argument("indices", static_cast<size_t>(count * bytes_per_element(dtype)), 0, false, dtype, count));
  fill_switches(in, args.back().image, dtype, count, plane);
  return true;
}

// Elements of one (n, c) plane of a descriptor's spatial extents (at least 1), or -1.
int64_t plane_of(const upsTensorDesc_t& d) {
  int64_t plane = 1;
  for (int i = 0; i < d.spatial_dims && i < 3; ++i)
    if (__builtin_mul_overflow(plane, std::max<int64_t>(d.spatial[i], 1), &plane)) return -1;
  return plane;
}

struct Outcome {
  upsStatus_t status;
  std::string message;
  std::vector<std::vector<unsigned char>> images;
};

// Elementwise equality of two outputs, NaN equal to NaN (payloads may differ between a
// reference that computes in double and a kernel that moves the bits).
bool same_values(const Argument& arg, const std::vector<unsigned char>& a, const std::vector<unsigned char>& b,
                 double tolerance = 0.0) {
  const size_t offset = kGuardBytes + arg.image.misalign;
  for (int64_t i = 0; i < arg.count; ++i) {
    if (index_dtype(arg.dtype)) {
      const size_t width = static_cast<size_t>(bytes_per_element(arg.dtype));
      if (std::memcmp(&a[offset + static_cast<size_t>(i) * width], &b[offset + static_cast<size_t>(i) * width],
                      width) != 0)
        return false;
      continue;
    }
    const auto dtype = static_cast<upsDataType_t>(arg.dtype);
    const double x = upsample::reference::load(dtype, &a[offset], i);
    const double y = upsample::reference::load(dtype, &b[offset], i);
    // tolerance (issue 13: interpolation weights are not exact): |x - y| <= tolerance * (1 + |x|).
    if (!(x == y || (std::isnan(x) && std::isnan(y)) ||
          (tolerance > 0 && std::fabs(x - y) <= tolerance * (1 + std::fabs(x)))))
      return false;
  }
  return true;
}

template <typename Call>
Outcome run_on(upsBackend_t backend, std::vector<Argument>& args, Call&& call) {
  Outcome outcome;
  upsHandle_t handle = nullptr;
  if (upsCreate(&handle, backend) != UPS_STATUS_SUCCESS) violation("upsCreate failed");
  std::vector<Placed*> placed;
  std::vector<void*> pointers;
  for (Argument& a : args) {
    placed.push_back(new Placed(backend, a.image));
    pointers.push_back(placed.back()->data());
  }
  outcome.status = call(handle, pointers);
  outcome.message = upsGetLastErrorString();
  for (Placed* p : placed) {
    outcome.images.push_back(p->read());
    delete p;
  }
  upsDestroy(handle);
  return outcome;
}

// Runs the call on both backends and checks every promise of the file comment.
template <typename Call>
void check_call(const char* op, std::vector<Argument>& args, Call&& call, double tolerance = 0.0,
                bool cuda_engine_may_refuse = false) {
  static const bool verbose = std::getenv("UPS_FUZZ_VERBOSE") != nullptr;  // to see what a slow input runs
  if (verbose) std::fprintf(stderr, "upsample fuzzer: running %s\n", g_problem.c_str());
  const Outcome reference = run_on(UPS_BACKEND_REFERENCE, args, call);
  const Outcome cuda = run_on(UPS_BACKEND_CUDA, args, call);
  for (const Outcome* o : {&reference, &cuda}) {
    const char* backend = o == &reference ? "REFERENCE" : "CUDA";
    for (size_t i = 0; i < args.size(); ++i) {
      const Image& before = args[i].image;
      const std::vector<unsigned char>& after = o->images[i];
      const bool untouched_required = !args[i].output || o->status != UPS_STATUS_SUCCESS;
      if (untouched_required && after != before.bytes)
        violation(std::string(op) + " on " + backend + ": `" + args[i].name + "` changed although " +
                  (args[i].output ? "the call failed: " + o->message : std::string("it is an input")));
      // Guards of outputs after a success.
      for (size_t g = 0; g < kGuardBytes + before.misalign; ++g)
        if (after[g] != before.bytes[g]) violation(std::string(op) + " on " + backend + ": wrote before `" + args[i].name + "`");
      for (size_t g = kGuardBytes + before.misalign + before.data_bytes; g < after.size(); ++g)
        if (after[g] != before.bytes[g]) violation(std::string(op) + " on " + backend + ": wrote past `" + args[i].name + "`");
    }
    if (o->status != UPS_STATUS_SUCCESS && o->message.empty())
      violation(std::string(op) + " on " + backend + ": rejected with " + upsGetStatusName(o->status) + " but no message");
  }
  // The entry path runs can_implement before the data check (NOTE [ Entry path ]), so the engine's
  // refusal also stands where the reference (which has no algorithms) passed validation and then
  // refused a pointer: validation is the same code on both backends, and a different status from it
  // is still a violation below.
  const bool reference_past_can_implement =
      reference.status == UPS_STATUS_SUCCESS || reference.status == UPS_STATUS_NULL_POINTER ||
      reference.status == UPS_STATUS_MISALIGNED || reference.status == UPS_STATUS_WRONG_BACKEND_MEMORY ||
      reference.status == UPS_STATUS_ALIASING;
  const bool engine_refused = cuda_engine_may_refuse && reference_past_can_implement && cuda.status != reference.status &&
                              (cuda.status == UPS_STATUS_NOT_SUPPORTED || cuda.status == UPS_STATUS_MISALIGNED ||
                               cuda.status == UPS_STATUS_OVERFLOW);
  if (engine_refused) return;  // the untouched-buffer and message checks above still held
  if (reference.status != cuda.status)
    violation(std::string(op) + ": REFERENCE says " + upsGetStatusName(reference.status) + " (" + reference.message +
              "), CUDA says " + upsGetStatusName(cuda.status) + " (" + cuda.message + ")");
  if (reference.status == UPS_STATUS_SUCCESS)
    for (size_t i = 0; i < args.size(); ++i)
      if (args[i].output && !same_values(args[i], reference.images[i], cuda.images[i], tolerance))
        violation(std::string(op) + ": CUDA output `" + args[i].name + "` differs from REFERENCE");
}

// Descriptor-level calls must never crash, whatever the descriptors.
void output_desc_calls(const upsTensorDesc_t& x, const upsTensorDesc_t& w, Bytes& in) {
  upsTensorDesc_t y;
  upsUnpoolDesc_t unpool{};
  store_raw(&unpool.mode, in.pick(0, 2));
  unpool.spatial_dims = static_cast<int>(in.pick(0, 4));
  for (int i = 0; i < 3; ++i) unpool.scale[i] = in.pick(0, 3);
  (void)upsUnpoolOutputDesc(&unpool, &x, &y);
  upsConvTransposeDesc_t conv{};
  conv.spatial_dims = x.spatial_dims;
  for (int i = 0; i < 3; ++i) {
    conv.stride[i] = in.pick(0, 3);
    conv.dilation[i] = in.pick(0, 3);
    conv.pad_begin[i] = in.pick(0, 3);
    conv.pad_end[i] = in.pick(0, 3);
    conv.output_padding[i] = in.pick(0, 3);
  }
  conv.groups = in.pick(0, 3);
  (void)upsConvTransposeOutputDesc(&conv, &x, &w, &y);
  int layout;
  std::memcpy(&layout, &x.layout, sizeof layout);
  if (valid_dtype(raw_dtype(x)) && (layout == 0 || layout == 1))
    (void)upsTensorDescInit(&y, x.dtype, x.layout, x.spatial_dims, x.n, x.c, x.spatial);
}

size_t fuzzed_misalign(Bytes& in) { return in.pick(0, 15) == 7 ? 1 : 0; }

upsTensorDesc_t maybe_perturbed(const upsTensorDesc_t& d, Bytes& in) {
  upsTensorDesc_t p = d;
  switch (in.pick(0, 15)) {
    case 0:
      if (p.spatial[0] < std::numeric_limits<int64_t>::max()) p.spatial[0] += 1;
      break;
    case 1: p.c = in.pick(0, 5); break;
    case 2: {
      int layout;
      std::memcpy(&layout, &p.layout, sizeof layout);
      store_raw(&p.layout, layout ^ 1);  // the other layout (or another invalid value)
      break;
    }
    case 3: store_raw(&p.dtype, in.pick(0, 4)); break;
    // struct_size (NOTE [ Descriptor versions ]): usually 0, the first layout; sometimes the exact
    // size; sometimes one the library must refuse before reading anything else. No byte is read
    // for these, so the seed corpus decodes as before.
    case 4: p.struct_size = sizeof(upsTensorDesc_t); break;
    case 5: {
      const size_t hostile[4] = {1, sizeof(upsTensorDesc_t) - 1, sizeof(upsTensorDesc_t) + 8, SIZE_MAX};
      p.struct_size = hostile[static_cast<uint64_t>(p.spatial[0]) % 4];
      break;
    }
    default: break;
  }
  return p;
}

void fuzz_unpool(Bytes& in, const upsTensorDesc_t& x_desc) {
  upsUnpoolDesc_t desc{};
  store_raw(&desc.mode, in.pick(0, 1));
  desc.spatial_dims = x_desc.spatial_dims;
  for (int i = 0; i < 3; ++i) desc.scale[i] = in.pick(1, 3);
  upsTensorDesc_t y_desc;
  if (upsUnpoolOutputDesc(&desc, &x_desc, &y_desc) != UPS_STATUS_SUCCESS) y_desc = x_desc;
  y_desc = maybe_perturbed(y_desc, in);
  g_problem = "unpool x " + desc_text(x_desc) + " y " + desc_text(y_desc) + extents_text("scale", desc.scale);
  const int64_t xn = small_element_count(x_desc), yn = small_element_count(y_desc);
  if (xn < 0 || yn < 0) return;
  std::vector<Argument> args;
  args.push_back(argument("x", static_cast<size_t>(xn * bytes_per_element(raw_dtype(x_desc))), fuzzed_misalign(in), false, raw_dtype(x_desc), xn));
  fill_values(in, args[0].image, raw_dtype(x_desc), xn, true);
  args.push_back(argument("y", static_cast<size_t>(yn * bytes_per_element(raw_dtype(y_desc))), fuzzed_misalign(in), true, raw_dtype(y_desc), yn));
  check_call("unpool", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsUnpoolForward(h, &desc, &x_desc, p[0], &y_desc, p[1]);
  });
}

upsPoolDesc_t fuzzed_pool(Bytes& in, int dims) {
  upsPoolDesc_t pool{};
  pool.spatial_dims = dims;
  for (int i = 0; i < 3; ++i) {
    pool.kernel[i] = in.pick(1, 3);
    pool.stride[i] = in.pick(1, 3);
    pool.padding[i] = in.pick(0, 1);
    pool.dilation[i] = in.pick(1, 2);
  }
  pool.ceil_mode = static_cast<int>(in.pick(0, 1));
  return pool;
}

void fuzz_max_pool(Bytes& in, const upsTensorDesc_t& x_desc) {
  const upsPoolDesc_t pool = fuzzed_pool(in, x_desc.spatial_dims);
  upsTensorDesc_t y_desc, i_desc;
  if (upsMaxPoolOutputDesc(&pool, &x_desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) y_desc = i_desc = x_desc;
  i_desc.dtype = fuzzed_switch_dtype(in);
  y_desc = maybe_perturbed(y_desc, in);
  g_problem = "max-pool x " + desc_text(x_desc) + " y " + desc_text(y_desc) + extents_text("kernel", pool.kernel) +
              extents_text("stride", pool.stride) + extents_text("padding", pool.padding) +
              extents_text("dilation", pool.dilation) + " ceil " + std::to_string(pool.ceil_mode);
  const int64_t xn = small_element_count(x_desc), yn = small_element_count(y_desc), index_count = small_element_count(i_desc);
  if (xn < 0 || yn < 0 || index_count < 0) return;
  std::vector<Argument> args;
  args.push_back(argument("x", static_cast<size_t>(xn * bytes_per_element(raw_dtype(x_desc))), fuzzed_misalign(in), false, raw_dtype(x_desc), xn));
  fill_values(in, args[0].image, raw_dtype(x_desc), xn, true);
  args.push_back(argument("y", static_cast<size_t>(yn * bytes_per_element(raw_dtype(y_desc))), 0, true, raw_dtype(y_desc), yn));
  args.push_back(argument("indices", static_cast<size_t>(index_count * bytes_per_element(i_desc.dtype)),
                          fuzzed_misalign(in), true, i_desc.dtype, index_count));
  check_call("max-pool", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsMaxPoolForward(h, &pool, &x_desc, p[0], &y_desc, p[1], &i_desc, p[2]);
  });
}

void fuzz_max_unpool(Bytes& in, const upsTensorDesc_t& x_desc) {
  const upsPoolDesc_t pool = fuzzed_pool(in, x_desc.spatial_dims);
  upsTensorDesc_t y_desc;
  if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS) y_desc = x_desc;
  y_desc = maybe_perturbed(y_desc, in);
  g_problem = "max-unpool x " + desc_text(x_desc) + " y " + desc_text(y_desc) + extents_text("kernel", pool.kernel) +
              extents_text("stride", pool.stride) + extents_text("padding", pool.padding);
  upsTensorDesc_t i_desc = x_desc;
  i_desc.dtype = fuzzed_switch_dtype(in);
  const int64_t xn = small_element_count(x_desc), yn = small_element_count(y_desc);
  if (xn < 0 || yn < 0) return;
  int64_t plane = 1;
  for (int i = 0; i < y_desc.spatial_dims && i < 3; ++i)
    if (__builtin_mul_overflow(plane, std::max<int64_t>(y_desc.spatial[i], 1), &plane)) return;
  std::vector<Argument> args;
  args.push_back(argument("x", static_cast<size_t>(xn * bytes_per_element(raw_dtype(x_desc))), 0, false, raw_dtype(x_desc), xn));
  fill_values(in, args[0].image, raw_dtype(x_desc), xn, true);
  Image indices = make_image(static_cast<size_t>(xn * bytes_per_element(i_desc.dtype)), 0, false);
  fill_switches(in, indices, i_desc.dtype, xn, plane);
  args.push_back({"indices", indices, false, i_desc.dtype, xn});
  args.push_back(argument("y", static_cast<size_t>(yn * bytes_per_element(raw_dtype(y_desc))), fuzzed_misalign(in), true, raw_dtype(y_desc), yn));
  check_call("max-unpool", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsMaxUnpoolForward(h, &pool, &x_desc, p[0], &i_desc, p[1], &y_desc, p[2]);
  });
}

upsConvTransposeDesc_t fuzzed_conv(Bytes& in, const upsTensorDesc_t& x_desc) {
  upsConvTransposeDesc_t conv{};
  upsConvTransposeDescInit(&conv, x_desc.spatial_dims >= 1 && x_desc.spatial_dims <= 3 ? x_desc.spatial_dims : 2);
  for (int i = 0; i < 3; ++i) {
    conv.stride[i] = in.pick(1, 3);
    conv.dilation[i] = in.pick(1, 2);
    conv.pad_begin[i] = in.pick(0, 2);
    conv.pad_end[i] = in.pick(0, 2);
    conv.output_padding[i] = in.pick(0, 1);
  }
  conv.groups = in.pick(1, 2);
  store_raw(&conv.algorithm, in.pick(0, 3));  // AUTO, SCATTER_ATOMIC, GATHER, IMPLICIT_GEMM
  conv.deterministic = static_cast<int>(in.pick(0, 3) == 0);
  store_raw(&conv.math_mode, in.pick(0, 1));  // TF32 allowed: exact on the fuzzer's small integers
  return conv;
}

// Whether the desc forces the implicit-GEMM engine (read raw: the enum may hold a hostile value).
bool forces_engine(const upsConvTransposeDesc_t& conv) {
  int algorithm;
  std::memcpy(&algorithm, &conv.algorithm, sizeof algorithm);
  return algorithm == UPS_ALGO_IMPLICIT_GEMM;
}

// Multiply-adds the emulated implicit-GEMM engine would run, tiles padded (positions in 128s,
// channels per group in 32s, every tap and group): with one channel per group the engine still
// runs 32-wide tiles, so a small 3-D problem can cost 10^8 emulated multiply-adds (~30 s under
// ASan and coverage: a libFuzzer timeout, though a GPU would take microseconds). The larger of the
// input and output position counts bounds all three gradients' GEMMs as well.
double engine_padded_macs(const upsConvTransposeDesc_t& conv, const upsTensorDesc_t& x_desc,
                          const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc) {
  auto round_up = [](double value, double multiple) { return std::ceil(std::max(value, 1.0) / multiple) * multiple; };
  const double groups = static_cast<double>(std::max<int64_t>(conv.groups, 1));
  double taps = 1, x_positions = static_cast<double>(x_desc.n), y_positions = static_cast<double>(y_desc.n);
  for (int i = 0; i < w_desc.spatial_dims && i < 3; ++i) taps *= static_cast<double>(w_desc.spatial[i]);
  for (int i = 0; i < x_desc.spatial_dims && i < 3; ++i) x_positions *= static_cast<double>(x_desc.spatial[i]);
  for (int i = 0; i < y_desc.spatial_dims && i < 3; ++i) y_positions *= static_cast<double>(y_desc.spatial[i]);
  const double cin_g = static_cast<double>(w_desc.n) / groups, cout_g = static_cast<double>(w_desc.c);
  return groups * std::max(taps, 1.0) * round_up(std::max(x_positions, y_positions), 128) * round_up(cin_g, 32) *
         round_up(cout_g, 32);
}

// Above this many padded multiply-adds (about 4 s of emulation) an input that forces the engine,
// or leaves AUTO free to pick it, runs GATHER instead: the same data, the same validation and
// comparison, at the cost of the problem's real multiply-adds.
constexpr double kMaxEngineMacs = double{1 << 25};

upsConvTransposeDesc_t engine_within_budget(upsConvTransposeDesc_t conv, const upsTensorDesc_t& x_desc,
                                            const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc) {
  int algorithm;
  std::memcpy(&algorithm, &conv.algorithm, sizeof algorithm);
  const bool engine_possible = algorithm == UPS_ALGO_IMPLICIT_GEMM || algorithm == UPS_ALGO_AUTO;
  if (engine_possible && engine_padded_macs(conv, x_desc, w_desc, y_desc) > kMaxEngineMacs)
    store_raw(&conv.algorithm, int64_t{UPS_ALGO_GATHER});
  return conv;
}

std::string conv_text(const upsConvTransposeDesc_t& conv) {
  int algorithm, math_mode;
  std::memcpy(&algorithm, &conv.algorithm, sizeof algorithm);
  std::memcpy(&math_mode, &conv.math_mode, sizeof math_mode);
  return extents_text("stride", conv.stride) + extents_text("dilation", conv.dilation) +
         extents_text("pad_begin", conv.pad_begin) + extents_text("pad_end", conv.pad_end) +
         extents_text("output_padding", conv.output_padding) + " groups " + std::to_string(conv.groups) +
         " algorithm " + std::to_string(algorithm) + " math " + std::to_string(math_mode);
}

void fuzz_conv_transpose(Bytes& in, const upsTensorDesc_t& x_desc, upsTensorDesc_t w_desc) {
  upsConvTransposeDesc_t conv = fuzzed_conv(in, x_desc);
  w_desc.n = x_desc.c;
  if (in.pick(0, 7) == 0) w_desc.n = in.pick(0, 4);
  upsTensorDesc_t y_desc;
  if (upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc) != UPS_STATUS_SUCCESS) y_desc = x_desc;
  y_desc = maybe_perturbed(y_desc, in);
  conv = engine_within_budget(conv, x_desc, w_desc, y_desc);
  g_problem = "conv-transpose x " + desc_text(x_desc) + " w " + desc_text(w_desc) + " y " + desc_text(y_desc) +
              conv_text(conv);
  const int64_t xn = small_element_count(x_desc), wn = small_element_count(w_desc), yn = small_element_count(y_desc);
  if (xn < 0 || wn < 0 || yn < 0 || y_desc.c > kMaxElements) return;
  const bool with_bias = in.pick(0, 1) == 1;
  const int64_t bn = with_bias ? std::max<int64_t>(y_desc.c, 0) : 0;
  std::vector<Argument> args;
  args.push_back(argument("x", static_cast<size_t>(xn * bytes_per_element(raw_dtype(x_desc))), fuzzed_misalign(in), false, raw_dtype(x_desc), xn));
  fill_values(in, args.back().image, raw_dtype(x_desc), xn, false);
  args.push_back(argument("w", static_cast<size_t>(wn * bytes_per_element(raw_dtype(w_desc))), 0, false, raw_dtype(w_desc), wn));
  fill_values(in, args.back().image, raw_dtype(w_desc), wn, false);
  args.push_back(argument("bias", static_cast<size_t>(bn * bytes_per_element(raw_dtype(y_desc))), 0, false, raw_dtype(y_desc), bn));
  fill_values(in, args.back().image, raw_dtype(y_desc), bn, false);
  args.push_back(argument("y", static_cast<size_t>(yn * bytes_per_element(raw_dtype(y_desc))), 0, true, raw_dtype(y_desc), yn));
  check_call(
      "conv-transpose", args,
      [&](upsHandle_t h, const std::vector<void*>& p) {
        return upsConvTransposeForward(h, &conv, &x_desc, p[0], &w_desc, p[1], with_bias ? p[2] : nullptr, &y_desc,
                                       p[3]);
      },
      0.0, forces_engine(conv));
}

// ---- Gradients ---------------------------------------------------------------------------------

void fuzz_unpool_backward(Bytes& in, const upsTensorDesc_t& x_desc) {
  upsUnpoolDesc_t desc{};
  store_raw(&desc.mode, in.pick(0, 1));
  desc.spatial_dims = x_desc.spatial_dims;
  for (int i = 0; i < 3; ++i) desc.scale[i] = in.pick(1, 3);
  upsTensorDesc_t dy_desc;
  if (upsUnpoolOutputDesc(&desc, &x_desc, &dy_desc) != UPS_STATUS_SUCCESS) dy_desc = x_desc;
  dy_desc = maybe_perturbed(dy_desc, in);
  const upsTensorDesc_t dx_desc = maybe_perturbed(x_desc, in);
  g_problem = "unpool-backward dy " + desc_text(dy_desc) + " dx " + desc_text(dx_desc) + extents_text("scale", desc.scale);
  std::vector<Argument> args;
  if (!add_tensor(args, in, "dy", dy_desc, false) || !add_tensor(args, in, "dx", dx_desc, true)) return;
  check_call("unpool-backward", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsUnpoolBackward(h, &desc, &dy_desc, p[0], &dx_desc, p[1]);
  });
}

void fuzz_max_pool_backward(Bytes& in, const upsTensorDesc_t& x_desc) {
  const upsPoolDesc_t pool = fuzzed_pool(in, x_desc.spatial_dims);
  upsTensorDesc_t dy_desc, i_desc;
  if (upsMaxPoolOutputDesc(&pool, &x_desc, &dy_desc, &i_desc) != UPS_STATUS_SUCCESS) dy_desc = i_desc = x_desc;
  i_desc.dtype = fuzzed_switch_dtype(in);
  dy_desc = maybe_perturbed(dy_desc, in);
  g_problem = "max-pool-backward x " + desc_text(x_desc) + " dy " + desc_text(dy_desc) + extents_text("kernel", pool.kernel) +
              extents_text("stride", pool.stride) + extents_text("padding", pool.padding) +
              extents_text("dilation", pool.dilation) + " ceil " + std::to_string(pool.ceil_mode);
  std::vector<Argument> args;
  if (!add_tensor(args, in, "dy", dy_desc, false) || !add_indices(args, in, i_desc, plane_of(x_desc)) ||
      !add_tensor(args, in, "dx", x_desc, true))
    return;
  check_call("max-pool-backward", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsMaxPoolBackward(h, &pool, &dy_desc, p[0], &i_desc, p[1], &x_desc, p[2]);
  });
}

void fuzz_max_unpool_backward(Bytes& in, const upsTensorDesc_t& x_desc) {
  const upsPoolDesc_t pool = fuzzed_pool(in, x_desc.spatial_dims);
  upsTensorDesc_t dy_desc;
  if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &dy_desc) != UPS_STATUS_SUCCESS) dy_desc = x_desc;
  dy_desc = maybe_perturbed(dy_desc, in);
  upsTensorDesc_t i_desc = x_desc;
  i_desc.dtype = fuzzed_switch_dtype(in);
  g_problem = "max-unpool-backward dy " + desc_text(dy_desc) + " dx " + desc_text(x_desc) +
              extents_text("kernel", pool.kernel) + extents_text("stride", pool.stride) +
              extents_text("padding", pool.padding);
  std::vector<Argument> args;
  if (!add_tensor(args, in, "dy", dy_desc, false) || !add_indices(args, in, i_desc, plane_of(dy_desc)) ||
      !add_tensor(args, in, "dx", x_desc, true))
    return;
  check_call("max-unpool-backward", args, [&](upsHandle_t h, const std::vector<void*>& p) {
    return upsMaxUnpoolBackward(h, &pool, &dy_desc, p[0], &i_desc, p[1], &x_desc, p[2]);
  });
}

// Which gradient of a transposed convolution a fuzz input asks for.
enum class ConvGradient { kData, kWeight, kBias };

void fuzz_conv_transpose_backward(Bytes& in, const upsTensorDesc_t& x_desc, upsTensorDesc_t w_desc,
                                  ConvGradient gradient) {
  upsConvTransposeDesc_t conv = fuzzed_conv(in, x_desc);
  w_desc.n = x_desc.c;
  if (in.pick(0, 7) == 0) w_desc.n = in.pick(0, 4);
  upsTensorDesc_t dy_desc;
  if (upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &dy_desc) != UPS_STATUS_SUCCESS) dy_desc = x_desc;
  dy_desc = maybe_perturbed(dy_desc, in);
  conv = engine_within_budget(conv, x_desc, w_desc, dy_desc);
  g_problem = "conv-transpose-backward x " + desc_text(x_desc) + " w " + desc_text(w_desc) + " dy " + desc_text(dy_desc) +
              conv_text(conv);
  std::vector<Argument> args;
  if (!add_tensor(args, in, "dy", dy_desc, false)) return;
  switch (gradient) {
    case ConvGradient::kData:
      if (!add_tensor(args, in, "w", w_desc, false) || !add_tensor(args, in, "dx", x_desc, true)) return;
      check_call(
          "conv-transpose-backward-data", args,
          [&](upsHandle_t h, const std::vector<void*>& p) {
            return upsConvTransposeBackwardData(h, &conv, &dy_desc, p[0], &w_desc, p[1], &x_desc, p[2]);
          },
          0.0, forces_engine(conv));
      return;
    case ConvGradient::kWeight:
      if (!add_tensor(args, in, "x", x_desc, false) || !add_tensor(args, in, "dw", w_desc, true)) return;
      check_call(
          "conv-transpose-backward-weight", args,
          [&](upsHandle_t h, const std::vector<void*>& p) {
            return upsConvTransposeBackwardWeight(h, &conv, &x_desc, p[1], &dy_desc, p[0], &w_desc, p[2]);
          },
          0.0, forces_engine(conv));
      return;
    case ConvGradient::kBias: {
      upsTensorDesc_t db_desc = dy_desc;  // C_out values of dy's dtype
      db_desc.n = 1;
      db_desc.spatial_dims = 1;
      db_desc.spatial[0] = 1;
      if (!add_tensor(args, in, "db", db_desc, true)) return;
      check_call("conv-transpose-backward-bias", args, [&](upsHandle_t h, const std::vector<void*>& p) {
        return upsConvTransposeBackwardBias(h, &conv, &dy_desc, p[0], p[1]);
      });
      return;
    }
  }
}

// --- issue 13: interpolation and pixel shuffle ----------------------------------------------------
// Fuzzed descriptors: any mode (one past the enum too), sizes or scale factors (both, neither, and
// non-finite or non-positive ones), align_corners, antialias, recompute_scale_factor. Interpolated
// values are compared with a tolerance (float vs double accumulation), nearest modes exactly.
upsInterpolateDesc_t fuzzed_interpolate(Bytes& in, int dims) {
  upsInterpolateDesc_t d{};
  store_raw(&d.mode, in.pick(0, 5));
  d.spatial_dims = dims;
  const double scales[] = {0.3, 0.5, 1.0, 1.7, 2.0, 7.0 / 3.0, 0.0, -1.0, std::nan(""), HUGE_VAL};
  const int64_t how = in.pick(0, 3);  // 0 sizes, 1 scales, 2 both, 3 neither
  for (int i = 0; i < 3; ++i) {
    if (how == 0 || how == 2) d.output_size[i] = in.pick(0, 7);
    if (how == 1 || how == 2) d.scale_factor[i] = scales[in.u8() % 10];  // an index: never hostile
  }
  d.align_corners = static_cast<int>(in.pick(0, 1));
  d.antialias = static_cast<int>(in.pick(0, 1));
  d.recompute_scale_factor = static_cast<int>(in.pick(0, 1));
  if (in.pick(0, 7) == 3) d.struct_size = sizeof(upsInterpolateDesc_t) + static_cast<size_t>(in.pick(1, 9));
  return d;
}

// An enum field's bits as an int (a fuzzed field may hold no enumerator: reading it as the enum
// would be undefined).
template <typename Enum>
int raw_enum_bits(const Enum& field) {
  int raw;
  std::memcpy(&raw, &field, sizeof raw);
  return raw;
}

double interpolate_tolerance(const upsInterpolateDesc_t& d, int dtype) {
  const int mode = raw_enum_bits(d.mode);
  if (mode == UPS_INTERPOLATE_NEAREST || mode == UPS_INTERPOLATE_NEAREST_EXACT) return 0.0;
  switch (dtype) {
    case UPS_DTYPE_F64: return 1e-12;
    case UPS_DTYPE_F32: return 1e-5;
    case UPS_DTYPE_F16: return 2e-3;
    default: return 1.6e-2;
  }
}

void fuzz_interpolate(Bytes& in, const upsTensorDesc_t& x_desc, bool backward) {
  const upsInterpolateDesc_t desc = fuzzed_interpolate(in, x_desc.spatial_dims);
  upsTensorDesc_t y_desc;
  if (upsInterpolateOutputDesc(&desc, &x_desc, &y_desc) != UPS_STATUS_SUCCESS) y_desc = x_desc;
  y_desc = maybe_perturbed(y_desc, in);
  g_problem = std::string(backward ? "interpolate-backward" : "interpolate") + " x " + desc_text(x_desc) + " y " +
              desc_text(y_desc) + " mode " + std::to_string(raw_enum_bits(desc.mode)) +
              extents_text("size", desc.output_size) + " align " + std::to_string(desc.align_corners) + " aa " +
              std::to_string(desc.antialias);
  std::vector<Argument> args;
  if (!add_tensor(args, in, backward ? "dy" : "x", backward ? y_desc : x_desc, false, !backward, fuzzed_misalign(in)))
    return;
  if (!add_tensor(args, in, backward ? "dx" : "y", backward ? x_desc : y_desc, true, false, fuzzed_misalign(in)))
    return;
  const double tolerance = interpolate_tolerance(desc, raw_dtype(x_desc));
  if (backward)
    check_call("interpolate-backward", args, [&](upsHandle_t h, const std::vector<void*>& p) {
      return upsInterpolateBackward(h, &desc, &y_desc, p[0], &x_desc, p[1]);
    }, tolerance);
  else
    check_call("interpolate", args, [&](upsHandle_t h, const std::vector<void*>& p) {
      return upsInterpolateForward(h, &desc, &x_desc, p[0], &y_desc, p[1]);
    }, tolerance);
}

void fuzz_pixel_shuffle(Bytes& in, const upsTensorDesc_t& x_desc, bool backward) {
  upsPixelShuffleDesc_t desc{};
  store_raw(&desc.direction, in.pick(0, 2));
  desc.spatial_dims = x_desc.spatial_dims;
  desc.factor = in.pick(0, 3);
  upsTensorDesc_t y_desc;
  if (upsPixelShuffleOutputDesc(&desc, &x_desc, &y_desc) != UPS_STATUS_SUCCESS) y_desc = x_desc;
  y_desc = maybe_perturbed(y_desc, in);
  g_problem = std::string(backward ? "pixel-shuffle-backward" : "pixel-shuffle") + " x " + desc_text(x_desc) +
              " y " + desc_text(y_desc) + " direction " + std::to_string(raw_enum_bits(desc.direction)) +
              " factor " + std::to_string(desc.factor);
  std::vector<Argument> args;
  if (!add_tensor(args, in, backward ? "dy" : "x", backward ? y_desc : x_desc, false, true, fuzzed_misalign(in)))
    return;
  if (!add_tensor(args, in, backward ? "dx" : "y", backward ? x_desc : y_desc, true, false, fuzzed_misalign(in)))
    return;
  check_call(backward ? "pixel-shuffle-backward" : "pixel-shuffle", args,
             [&](upsHandle_t h, const std::vector<void*>& p) {
               return backward ? upsPixelShuffleBackward(h, &desc, &y_desc, p[0], &x_desc, p[1])
                               : upsPixelShuffleForward(h, &desc, &x_desc, p[0], &y_desc, p[1]);
             });
}
// --- end issue 13 ---------------------------------------------------------------------------------

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const int op = static_cast<int>(in.u8() % 14);  // 10-13: issue 13's interpolation and pixel shuffle
  const int dims = static_cast<int>(in.pick(1, 3));
  const int64_t dtype = in.pick(0, 3);
  const int64_t layout = in.pick(0, 1);
  const upsTensorDesc_t x_desc = fuzzed_desc(in, dims, dtype, layout);
  upsTensorDesc_t w_desc = fuzzed_desc(in, dims, dtype, layout);
  for (int i = 0; i < 3; ++i) w_desc.spatial[i] = std::min<int64_t>(w_desc.spatial[i], 4);
  output_desc_calls(x_desc, w_desc, in);
  switch (op) {
    case 0: fuzz_unpool(in, x_desc); break;
    case 1: fuzz_max_pool(in, x_desc); break;
    case 2: fuzz_max_unpool(in, x_desc); break;
    case 3: fuzz_conv_transpose(in, x_desc, w_desc); break;
    case 4: fuzz_unpool_backward(in, x_desc); break;
    case 5: fuzz_max_pool_backward(in, x_desc); break;
    case 6: fuzz_max_unpool_backward(in, x_desc); break;
    case 7: fuzz_conv_transpose_backward(in, x_desc, w_desc, ConvGradient::kData); break;
    case 8: fuzz_conv_transpose_backward(in, x_desc, w_desc, ConvGradient::kWeight); break;
    case 9: fuzz_conv_transpose_backward(in, x_desc, w_desc, ConvGradient::kBias); break;
    case 10: fuzz_interpolate(in, x_desc, false); break;
    case 11: fuzz_interpolate(in, x_desc, true); break;
    case 12: fuzz_pixel_shuffle(in, x_desc, false); break;
    default: fuzz_pixel_shuffle(in, x_desc, true); break;
  }
  return 0;
}
