"""upsample: upsampling kernels for generative models (Python bindings).

Core functions take arrays zero-copy (torch, NumPy, CuPy, JAX through DLPack or the array
interfaces) and run host arrays on the library's CPU reference backend, CUDA arrays on its CUDA
backend on the caller's current stream. `upsample.torch` adds PyTorch custom ops with autograd,
torch.compile support and drop-in nn.Module replacements.
"""
from . import _abi
from ._core import *  # noqa: F401,F403
from ._core import __all__ as _core_all
from ._lib import cudart_path, library_path, lib, missing_functions

__version__ = "0.2.0"
__all__ = list(_core_all) + ["lib", "library_path", "cudart_path", "missing_functions"]
