"""Finds and loads libupsample.so and the CUDA runtime it links (libcudart.so.13).

libupsample.so needs libcudart.so.13 at load time, even for the CPU reference backend. It is
looked for, first found wins:
  1. a libcudart.so.13 already loaded into the process (e.g. by torch or CuPy): reused as is;
  2. the `nvidia-cuda-runtime` wheel (a dependency of this package), site-packages/nvidia/cu13/lib;
  3. $CUDA_HOME/lib64, $CUDA_PATH/lib64, /usr/local/cuda/lib64 (a CUDA 13 toolkit);
  4. the dynamic linker's own search (LD_LIBRARY_PATH, ldconfig).
The wheel's libupsample.so also carries an RUNPATH ($ORIGIN/../../nvidia/cu13/lib), so a C
consumer of the installed library finds the wheel's runtime without Python's help.

The library itself: $UPSAMPLE_LIBRARY if set (a path to a libupsample.so, e.g. a build tree's),
else the copy installed in this package (upsample/lib/libupsample.so).
A GPU driver (libcuda.so.1) is needed only to run on the CUDA backend.
"""
import ctypes
import glob
import os
import sys

from . import _abi

_CUDART_SONAME = "libcudart.so.13"
_here = os.path.dirname(os.path.abspath(__file__))


def _cudart_candidates():
    for base in sys.path:
        yield os.path.join(base, "nvidia", "cu13", "lib", _CUDART_SONAME)
        yield os.path.join(base, "nvidia", "cuda_runtime", "lib", _CUDART_SONAME)
    for env in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(env):
            yield os.path.join(os.environ[env], "lib64", _CUDART_SONAME)
    yield "/usr/local/cuda/lib64/" + _CUDART_SONAME


def _load_cudart():
    try:  # already in the process (RTLD_NOLOAD: no new load)
        return ctypes.CDLL(_CUDART_SONAME, mode=ctypes.RTLD_GLOBAL | os.RTLD_NOLOAD), "(already loaded)"
    except OSError:
        pass
    for path in _cudart_candidates():
        if os.path.exists(path):
            try:
                return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL), path
            except OSError:
                continue
    try:
        return ctypes.CDLL(_CUDART_SONAME, mode=ctypes.RTLD_GLOBAL), _CUDART_SONAME
    except OSError:
        return None, None


def _library_path():
    env = os.environ.get("UPSAMPLE_LIBRARY")
    if env:
        return env
    for pattern in ("lib/libupsample.so", "lib64/libupsample.so", "lib/libupsample.so.*",
                    "lib64/libupsample.so.*"):
        hits = sorted(glob.glob(os.path.join(_here, pattern)))
        if hits:
            return hits[0]
    raise ImportError(
        "upsample: libupsample.so not found in %s/lib; install the package with "
        "`pip install ./python` or point UPSAMPLE_LIBRARY at a built libupsample.so" % _here)


cudart, cudart_path = _load_cudart()
library_path = _library_path()
try:
    lib = ctypes.CDLL(library_path)
except OSError as e:
    hint = ("" if cudart is not None else
            " (the CUDA runtime %s was not found: `pip install nvidia-cuda-runtime` or set "
            "CUDA_HOME to a CUDA 13 toolkit)" % _CUDART_SONAME)
    raise ImportError("upsample: cannot load %s: %s%s" % (library_path, e, hint)) from e

missing_functions = _abi.bind(lib)


def _missing(name):
    def stub(*args):
        from ._core import UpsampleError
        raise UpsampleError(_abi.UPS_STATUS_NOT_SUPPORTED, "%s is not exported by %s: the library was built from "
                            "older sources than the header this package matches" % (name, library_path), name)
    stub.__name__ = name
    return stub


for _name in missing_functions:
    setattr(lib, _name, _missing(_name))

cudart_missing = _abi.bind(cudart, _abi.CUDART_FUNCTIONS) if cudart is not None else None
