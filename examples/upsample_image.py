#!/usr/bin/env python3
"""Upsamples a procedurally generated picture 4x with upsample's Python package and saves the
results side by side as a PNG:

  input | nearest | bed-of-nails | bilinear | transposed conv, bilinear kernel | transposed conv, random kernel

The transposed convolutions are depthwise (groups = 3), stride 4. A bilinear-initialised kernel
interpolates smoothly; a random kernel of the same size shows the checkerboard artifacts of
transposed convolution: each output phase (position modulo the stride) gets a different sum of
kernel taps, so a flat region comes out as a periodic pattern.

Runs on the CPU reference backend with NumPy arrays (no GPU or PyTorch needed).
  pip install ./python pillow
  python examples/upsample_image.py [out.png]
"""
import sys

import numpy as np
from PIL import Image, ImageDraw

import upsample

FACTOR = 4


def procedural_image(size=48):
    """A small RGB picture: a sky gradient, a sun, hills and a checked field. (1, 3, H, W), [0, 1]."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    r = 0.35 + 0.4 * y
    g = 0.55 + 0.3 * y
    b = 0.95 - 0.3 * y
    sun = np.hypot(x - 0.72, y - 0.25) < 0.13
    r, g, b = np.where(sun, 1.0, r), np.where(sun, 0.85, g), np.where(sun, 0.2, b)
    hill = y > 0.62 + 0.12 * np.sin(6.0 * x)
    r, g, b = np.where(hill, 0.15 + 0.2 * x, r), np.where(hill, 0.55 - 0.2 * y, g), np.where(hill, 0.15, b)
    field = (y > 0.85) & (((x * 12).astype(int) + (y * 12).astype(int)) % 2 == 0)
    r, g, b = np.where(field, 0.85, r), np.where(field, 0.75, g), np.where(field, 0.3, b)
    return np.stack([r, g, b])[None].astype(np.float32)


def bilinear_kernel(factor, channels):
    """The (C_in, C_out/groups = 1, k, k) depthwise kernel of bilinear interpolation by factor."""
    k = 2 * factor - factor % 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = np.arange(k)
    f1 = 1 - np.abs(og - center) / factor
    w = np.outer(f1, f1)
    return np.tile(w[None, None], (channels, 1, 1, 1)).astype(np.float32), k


def random_kernel(k, factor, channels, rng):
    """A random positive kernel of the same size, scaled like the bilinear one (sum = factor^2)."""
    w = rng.uniform(0.0, 1.0, size=(channels, 1, k, k))
    w *= factor * factor / w.sum(axis=(2, 3), keepdims=True)
    return w.astype(np.float32)


def to_image(a):
    a = np.clip(a[0].transpose(1, 2, 0), 0.0, 1.0)
    return Image.fromarray((a * 255 + 0.5).astype(np.uint8))


def main(out_path="upsample_image.png"):
    x = procedural_image()
    c = x.shape[1]
    nearest = upsample.unpool(x, FACTOR, "nearest")
    nails = upsample.unpool(x, FACTOR, "bed_of_nails")
    bilinear = upsample.interpolate(x, scale_factor=FACTOR, mode="bilinear", align_corners=False)
    w_bil, k = bilinear_kernel(FACTOR, c)
    pad = (k - FACTOR) // 2  # output extent (in-1)*f - 2*pad + k = in*f
    geometry = dict(stride=FACTOR, padding=pad, groups=c)
    smooth = upsample.conv_transpose(x, w_bil, **geometry)
    rng = np.random.default_rng(0)
    checker = upsample.conv_transpose(x, random_kernel(k, FACTOR, c, rng), **geometry)
    assert nearest.shape == nails.shape == bilinear.shape == smooth.shape == checker.shape

    big = x.shape[2] * FACTOR
    panels = [("input (48x48)", to_image(x).resize((big, big), Image.NEAREST)),
              ("nearest", to_image(nearest)),
              ("bed-of-nails", to_image(nails)),
              ("bilinear", to_image(bilinear)),
              ("conv_transpose, bilinear", to_image(smooth)),
              ("conv_transpose, random", to_image(checker))]
    gap, label = 8, 16
    sheet = Image.new("RGB", (len(panels) * (big + gap) + gap, big + label + 2 * gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, img) in enumerate(panels):
        left = gap + i * (big + gap)
        sheet.paste(img, (left, gap + label))
        draw.text((left, gap // 2), title, fill="black")
    sheet.save(out_path)
    # How uneven the random kernel's phases are: the checkerboard's amplitude on a flat input.
    flat = upsample.conv_transpose(np.ones((1, c, 8, 8), np.float32), random_kernel(k, FACTOR, c, rng), **geometry)
    inner = flat[..., k:-k, k:-k]
    print("wrote %s (%dx%d); random kernel on a flat input: min %.3f max %.3f (bilinear gives 1.000)"
          % (out_path, sheet.width, sheet.height, inner.min(), inner.max()))
    return out_path


if __name__ == "__main__":
    main(*sys.argv[1:2])
