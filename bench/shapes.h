// The built-in shape set: upsampling layers of real generative models, each with its source.
// Each layer runs its forward op and its gradients (shape.h: a transposed convolution's data,
// weight and bias gradients; each unpooling op's backward, and max-unpooling's also the backward
// of the max-pool that made its switches), so training-time costs come from the same table.
//
// Every layer here is isotropic (the same extent, kernel, stride and padding on every spatial
// axis), so one number per column describes it; shapes a user adds (NOTE [ Shape text format ]
// in shape.h) may differ per axis. Unpooling rows use `stride` as the scale (and max-unpooling
// undoes a pool with window = stride = scale); their `cout` is `c`. Interpolation rows
// (interpolate_linear: bilinear in 2-D, trilinear in 3-D, align_corners=False) scale by `stride`
// too; pixel-shuffle rows shuffle by r = `stride`, `c` the packed channels and `cout` = c / r^dims.
#pragma once

#include <cstdint>
#include <vector>

#include "shape.h"

namespace upsample::bench {

struct BuiltinShape {
  const char* name;
  Op op;
  int dims;
  int64_t n, c, in, cout, kernel, stride, pad, output_padding, groups;
  const char* source;
};

// clang-format off
inline constexpr BuiltinShape kBuiltinShapes[] = {
//  name                   op                dims   n     c    in  cout  k  s  p op  groups  source
  {"dcgan.project",        Op::kConvTranspose, 2,  64,  100,    1,  512, 4, 1, 0, 0,   1, "DCGAN generator (Radford et al. 2016; PyTorch examples/dcgan, nz=100, ngf=64): first ConvTranspose2d(100, 512, 4, 1, 0) projecting the latent vector, 1x1 -> 4x4; a 1x1-input case whose weight gradient is one product over the batch"},
  {"dcgan.up2",            Op::kConvTranspose, 2,  64,  512,    4,  256, 4, 2, 1, 0,   1, "DCGAN generator (Radford et al. 2016; PyTorch examples/dcgan, ngf=64): ConvTranspose2d(512, 256, 4, 2, 1), 4x4 -> 8x8"},
  {"dcgan.out",            Op::kConvTranspose, 2,  64,   64,   32,    3, 4, 2, 1, 0,   1, "DCGAN generator: last ConvTranspose2d(64, 3, 4, 2, 1) to RGB, 32x32 -> 64x64"},
  {"pix2pix.up",           Op::kConvTranspose, 2,   1,  256,   64,   64, 4, 2, 1, 0,   1, "pix2pix U-Net generator (Isola et al. 2017, unet_256): up-conv ConvTranspose2d(256, 64, 4, 2, 1), 64x64 -> 128x128"},
  {"stylegan2.up",         Op::kConvTranspose, 2,   4,  256,  128,  128, 3, 2, 0, 0,   1, "StyleGAN2 synthesis (Karras et al. 2020), 256-px block: modulated conv_transpose2d(stride 2, 3x3) before the FIR blur, 128 -> 257"},
  {"stylegan2.up_grouped", Op::kConvTranspose, 2,   1, 1024,  128,  512, 3, 2, 0, 0,   4, "StyleGAN2 fused modulated conv: the same layer with per-sample weights, batch folded into groups (groups = N = 4)"},
  {"vae.up_convt",         Op::kConvTranspose, 2,   1,  512,  128,  256, 3, 2, 1, 1,   1, "VAE decoder up block as a transposed conv: ConvTranspose2d(512, 256, 3, 2, 1, output_padding=1), 128x128 -> 256x256"},
  {"hifigan.up1",          Op::kConvTranspose, 1,  16,  512,   32,  256,16, 8, 4, 0,   1, "HiFi-GAN generator (Kong et al. 2020): ups[0] ConvTranspose1d(512, 256, 16, 8, 4), 32 mel frames -> 256"},
  {"hifigan.up2",          Op::kConvTranspose, 1,  16,  256,  256,  128,16, 8, 4, 0,   1, "HiFi-GAN generator: ups[1] ConvTranspose1d(256, 128, 16, 8, 4), 256 -> 2048"},
  {"hifigan.up3",          Op::kConvTranspose, 1,  16,   64, 2048,   32, 8, 4, 2, 0,   1, "HiFi-GAN generator (V3-style rates): ConvTranspose1d(64, 32, 8, 4, 2), 2048 -> 8192"},
  {"unet3d.up_k2",         Op::kConvTranspose, 3,   2,   64,   64,   32, 2, 2, 0, 0,   1, "3-D U-Net decoder (Cicek et al. 2016): up-convolution ConvTranspose3d(64, 32, 2, 2), 64^3 -> 128^3"},
  {"unet3d.up_k3",         Op::kConvTranspose, 3,   2,   64,   64,   32, 3, 2, 1, 1,   1, "3-D U-Net decoder, 3x3x3 variant: ConvTranspose3d(64, 32, 3, 2, 1, output_padding=1), 64^3 -> 128^3"},
  {"depthwise1d.up",       Op::kConvTranspose, 1,  16,  512,   32,  512, 6, 3, 0, 0, 512, "Depthwise 1-D upsampler (groups = channels): ConvTranspose1d(512, 512, 6, 3, groups=512), 32 -> 99"},
  {"sdvae.nearest128",     Op::kNearest,       2,   1,  512,  128,  512, 2, 2, 0, 0,   1, "Stable Diffusion VAE decoder Upsample: nearest x2 before its conv, 512 ch, 128x128 -> 256x256"},
  {"sdvae.nearest256",     Op::kNearest,       2,   1,  256,  256,  256, 2, 2, 0, 0,   1, "Stable Diffusion VAE decoder Upsample: nearest x2, 256 ch, 256x256 -> 512x512"},
  {"esrgan.nearest",       Op::kNearest,       2,   1,   64,  512,   64, 2, 2, 0, 0,   1, "ESRGAN (Wang et al. 2018) upsampling: nearest x2 before conv, 64 ch, 512x512 -> 1024x1024"},
  {"vae.bed_of_nails",     Op::kBedOfNails,    2,   1,  512,  128,  512, 2, 2, 0, 0,   1, "Bed-of-nails unpooling x2 on the VAE decoder shape, 512 ch, 128x128 -> 256x256"},
  {"vae.max_unpool",       Op::kMaxUnpool,     2,   1,  512,  128,  512, 2, 2, 0, 0,   1, "Max-unpooling 2x2 (SegNet-style switches from a 2x2 max-pool) on the VAE decoder shape, 128x128 -> 256x256"},
  {"unet.bilinear",        Op::kInterpolateLinear, 2, 2, 640,  32,  640, 2, 2, 0, 0,   1, "Diffusion U-Net up block resampling with F.interpolate(scale_factor=2, mode='bilinear') (the bilinear variant of the U-Net's Upsample), 640 ch, 32x32 -> 64x64, batch 2 (a classifier-free-guidance pair)"},
  {"esrgan.pixel_shuffle", Op::kPixelShuffle, 2,  16,  256,   32,   64, 2, 2, 0, 0,   1, "ESRGAN/BasicSR sub-pixel upsampler (Shi et al. 2016 ESPCN; BasicSR's Upsample): conv to 4*64 channels then PixelShuffle(2), batch 16, 256 ch 32x32 -> 64 ch 64x64"},
  {"unet3d.trilinear",     Op::kInterpolateLinear, 3, 2,  64,   32,   64, 2, 2, 0, 0,   1, "3-D U-Net decoder upsampling by F.interpolate(scale_factor=2, mode='trilinear') instead of an up-convolution, 64 ch, 32^3 -> 64^3"},
};
// clang-format on

inline Shape to_shape(const BuiltinShape& b) {
  Shape s;
  s.name = b.name;
  s.source = b.source;
  s.op = b.op;
  s.dims = b.dims;
  s.n = b.n;
  s.c = b.c;
  s.cout = b.cout;
  s.groups = b.groups;
  for (size_t a = 0; a < static_cast<size_t>(b.dims); ++a) {
    s.in[a] = b.in;
    s.kernel[a] = b.kernel;
    s.stride[a] = b.stride;
    s.pad[a] = b.pad;
    s.output_padding[a] = b.output_padding;
  }
  return s;
}

// Every max-unpooling row also runs with I32 switches (name + ".i32"): the index bytes its three
// ops read halve, which the data-movement rows' bandwidth shows.
inline std::vector<Shape> builtin_shapes() {
  std::vector<Shape> shapes;
  for (const BuiltinShape& b : kBuiltinShapes) {
    shapes.push_back(to_shape(b));
    if (b.op != Op::kMaxUnpool) continue;
    Shape narrow = to_shape(b);
    narrow.name += ".i32";
    narrow.source += "; with I32 switches (UPS_DTYPE_I32)";
    narrow.int32_switches = true;
    shapes.push_back(narrow);
  }
  return shapes;
}

}  // namespace upsample::bench
