"""Shared fixtures: fresh random inputs each run (the seed is printed, so a failure reproduces with
UPS_TEST_SEED=<seed>), per-dtype tolerances, and where the header is."""
import os
import pathlib
import random

import pytest

SEED = int(os.environ.get("UPS_TEST_SEED", random.SystemRandom().randrange(2**31)))


def pytest_report_header(config):
    import upsample
    lines = ["upsample: %s (library %s, CUDA runtime %s)" % (upsample.__file__, upsample.library_path,
                                                              upsample.cudart_path),
             "upsample tests: random seed %d (set UPS_TEST_SEED to repeat)" % SEED]
    return lines


@pytest.fixture(autouse=True)
def _seed():
    random.seed(SEED)
    try:
        import numpy as np
        np.random.seed(SEED % 2**32)
    except ImportError:
        pass
    try:
        import torch
        torch.manual_seed(SEED)
    except ImportError:
        pass


# Tolerances against a float64 reference computed from the same (rounded) inputs.
# f64/f32: accumulation-order differences only; f16/bf16: one rounding of the float-accumulated
# result (2^-11 and 2^-8 relative) plus the reference's input rounding already shared.
TOLERANCES = {
    "float64": dict(rtol=1e-12, atol=1e-12),
    "float32": dict(rtol=1e-5, atol=1e-5),
    "float16": dict(rtol=2e-3, atol=2e-3),
    "bfloat16": dict(rtol=1.6e-2, atol=1.6e-2),
}


def header_path():
    """include/upsample/upsample.h of this checkout, else the one installed with the package."""
    here = pathlib.Path(__file__).resolve()
    repo = here.parents[2] / "include" / "upsample" / "upsample.h"
    if repo.exists():
        return repo
    import upsample
    return pathlib.Path(upsample.__file__).parent / "include" / "upsample" / "upsample.h"
