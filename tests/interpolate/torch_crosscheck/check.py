"""PyTorch cross-check of interpolation: F.interpolate and its autograd against both backends.

Usage: python check.py <path to interpolate_torch_dump>  (needs torch; exits 1 on any disagreement)
Configurations: every mode at each rank PyTorch has, f32 and f64, explicit sizes and scale factors
(1.7, 0.3.., 7/3 with 0.45, 1.5, 2, identity, size 1), recompute_scale_factor on and off,
align_corners where it exists, antialias (bilinear and bicubic, downscaling), prime extents.
Acceptance and rejection must agree too (except antialias when upscaling, which upsample refuses by
design: the test list has none).
"""
import subprocess, math, sys
import torch, torch.nn.functional as F
torch.set_num_threads(2)
MODES = {0: 'nearest', 1: 'nearest-exact', 2: 'linear', 3: 'bicubic', 4: 'area'}
LIN = {1: 'linear', 2: 'bilinear', 3: 'trilinear'}
cfgs = []
ins = {1: [13], 2: [7, 11], 3: [5, 3, 7]}
for mode in range(5):
    for dims in (1, 2, 3):
        if mode == 3 and dims != 2: continue
        aligns = (0, 1) if mode in (2, 3) else (0,)
        for dtype in (0, 1):
            for align in aligns:
                i = ins[dims]
                specs = [('scale', [1.7] * dims, 0), ('scale', [0.3 + 0.1 * k for k in range(dims)], 0),
                         ('scale', [7 / 3 if k % 2 else 0.45 for k in range(dims)], 0),
                         ('scale', [7 / 3 if k % 2 else 0.45 for k in range(dims)], 1),
                         ('size', [e * 2 + 3 for e in i], 0), ('size', [(e + 1) // 3 for e in i], 0),
                         ('scale', [1.5] * dims, 0), ('scale', [2.0] * dims, 0), ('size', [e for e in i], 0),
                         ('size', [1] * dims, 0)]
                for how, v, rec in specs:
                    cfgs.append((mode, dims, dtype, 2, 3, i, how, v, align, 0, rec))
                if dims == 2 and mode in (2, 3):
                    for how, v, rec, ii in [('scale', [0.3, 7 / 3], 0, [23, 5]), ('scale', [0.45, 0.3], 0, [17, 29]),
                                            ('size', [5, 3], 0, [17, 29]), ('scale', [0.5, 0.5], 1, [16, 16]),
                                            ('size', [4, 10], 0, [40, 10])]:
                        cfgs.append((mode, dims, dtype, 2, 3, ii, how, v, align, 1, rec))
lines = []
for (mode, dims, dtype, n, c, i, how, v, align, aa, rec) in cfgs:
    lines.append(' '.join(map(str, [mode, dims, dtype, n, c] + list(i) + [how] + [repr(float(x)) for x in v] + [align, aa, rec])))
out = subprocess.run([sys.argv[1]], input='\n'.join(lines) + '\n', capture_output=True, text=True).stdout.splitlines()
k = 0
worst = {}
fails = 0
for cfg in cfgs:
    (mode, dims, dtype, n, c, i, how, v, align, aa, rec) = cfg
    tdtype = torch.float64 if dtype == 1 else torch.float32
    xe = n * c * math.prod(i)
    x = torch.tensor([math.sin(0.37 * j + 0.1) * 2.0 for j in range(xe)], dtype=torch.float64).to(tdtype).reshape([n, c] + i)
    x.requires_grad_(True)
    kw = {}
    m = MODES[mode] if mode != 2 else LIN[dims]
    if how == 'size': kw['size'] = [int(e) for e in v]
    else:
        kw['scale_factor'] = tuple(v)
        kw['recompute_scale_factor'] = bool(rec)
    if mode in (2, 3): kw['align_corners'] = bool(align)
    if aa: kw['antialias'] = True
    line = out[k]; k += 1
    if line.startswith('ERROR'):
        try:
            F.interpolate(x, mode=m, **kw)
            print('OURS REJECTS, TORCH ACCEPTS', cfg, line); fails += 1
        except Exception as e:
            pass
        continue
    try:
        y = F.interpolate(x, mode=m, **kw)
    except Exception as e:
        print('TORCH REJECTS, OURS ACCEPTS', cfg, e); fails += 1; k += 4; continue
    shape = [int(t) for t in line.split()[1:]]
    vals = {}
    for tag in ('Y', 'DX', 'Y2', 'DX2'):
        l = out[k].split(); k += 1
        assert l[0] == tag
        vals[tag] = torch.tensor([float(t) for t in l[1:]], dtype=torch.float64)
    if list(y.shape[2:]) != shape:
        print('SHAPE', cfg, list(y.shape), shape); fails += 1; continue
    ye = y.numel()
    dy = torch.tensor([math.cos(0.11 * j) for j in range(ye)], dtype=torch.float64).to(tdtype).reshape(y.shape)
    (y * dy).sum().backward()
    ty = y.detach().double().flatten(); tdx = x.grad.double().flatten()
    tol = 1e-12 if dtype == 1 else 2e-5
    for tag, ref in (('Y', ty), ('Y2', ty), ('DX', tdx), ('DX2', tdx)):
        err = (vals[tag] - ref).abs().max().item() / max(1.0, ref.abs().max().item())
        key = (m, tag, dtype)
        worst[key] = max(worst.get(key, 0), err)
        if err > tol:
            fails += 1
            print('MISMATCH', tag, cfg, 'rel err', err)
# Pixel shuffle and unshuffle (2-D), forward and backward, bit for bit against F.pixel_shuffle /
# F.pixel_unshuffle (values are small integers: exact in f32).
ps = [(0, 2, 12, 5, 7, 2), (0, 1, 18, 3, 4, 3), (0, 3, 16, 4, 4, 2), (1, 2, 3, 10, 14, 2), (1, 1, 2, 9, 6, 3),
      (1, 2, 16, 8, 8, 4), (0, 1, 5, 3, 3, 1)]
out = subprocess.run([sys.argv[1]], input='\n'.join('ps ' + ' '.join(map(str, p)) for p in ps) + '\n',
                     capture_output=True, text=True).stdout.splitlines()
k = 0
for (direction, n, c, h, w, r) in ps:
    x = torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w)
    y = F.pixel_shuffle(x, r) if direction == 0 else F.pixel_unshuffle(x, r)
    shape = [int(t) for t in out[k].split()[1:]]; k += 1
    vals = {}
    for tag in ('Y', 'DX', 'Y2', 'DX2'):
        l = out[k].split(); k += 1
        vals[tag] = torch.tensor([float(t) for t in l[1:]], dtype=torch.float32)
    if list(y.shape[1:]) != shape:
        print('PS SHAPE', direction, n, c, h, w, r, list(y.shape), shape); fails += 1; continue
    for tag, ref in (('Y', y.flatten()), ('Y2', y.flatten()), ('DX', x.flatten()), ('DX2', x.flatten())):
        if not torch.equal(vals[tag], ref):
            print('PS MISMATCH', tag, direction, n, c, h, w, r); fails += 1
print('pixel shuffle configs', len(ps))
print('configs', len(cfgs), 'failures', fails)
for key in sorted(worst): print(key, '%.3g' % worst[key])
sys.exit(1 if fails else 0)
