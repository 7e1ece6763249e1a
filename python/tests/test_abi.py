"""upsample/_abi.py against include/upsample/upsample.h: every function, enumerator and struct."""
import ctypes
import pathlib
import re
import shutil
import subprocess

import pytest

import upsample
from upsample import _abi

from conftest import header_path

HEADER = header_path()
TEXT = HEADER.read_text()


def test_every_function_of_the_header_has_a_prototype():
    names = re.findall(r"UPS_API\s+[^;(]*?\b(ups\w+)\s*\(", TEXT)
    assert names, "no UPS_API function found in %s" % HEADER
    missing = sorted(set(names) - set(_abi.FUNCTIONS))
    extra = sorted(set(_abi.FUNCTIONS) - set(names))
    assert not missing, "functions in the header without a prototype in _abi.FUNCTIONS: %s" % missing
    assert not extra, "prototypes in _abi.FUNCTIONS no longer in the header: %s" % extra


def test_every_function_is_exported_by_the_library():
    assert upsample.missing_functions == []


def test_enumerators_match_the_header():
    for enum_name, values in _abi.ENUMS.items():
        m = re.search(r"typedef enum %s \{(.*?)\} %s;" % (enum_name, enum_name), TEXT, re.S)
        assert m, "enum %s not in the header" % enum_name
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        header = {k: int(v) for k, v in re.findall(r"(UPS_\w+)\s*=\s*(\d+)", body)}
        assert header == values, enum_name
    all_enums = set(re.findall(r"typedef enum (\w+) \{", TEXT))
    assert all_enums == set(_abi.ENUMS), "enums of the header: %s" % sorted(all_enums)


def test_version_and_limits_match_the_header():
    for name in ("UPS_VERSION_MAJOR", "UPS_VERSION_MINOR", "UPS_VERSION_PATCH", "UPS_MAX_SPATIAL_DIMS"):
        m = re.search(r"#define %s (\d+)" % name, TEXT)
        assert m and int(m.group(1)) == getattr(_abi, name), name
    assert upsample.version() == (_abi.UPS_VERSION_MAJOR, _abi.UPS_VERSION_MINOR, _abi.UPS_VERSION_PATCH)


def test_every_struct_of_the_header_is_declared():
    structs = set(re.findall(r"typedef struct (\w+) \{", TEXT))
    assert structs == set(_abi.STRUCTS), "structs of the header: %s" % sorted(structs)
    for name, cls in _abi.STRUCTS.items():
        body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), TEXT, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        members = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*;", body)
        assert members == [f[0] for f in cls._fields_], name


def _compiler():
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return cc
    return None


def test_struct_sizes_and_offsets_match_a_c_compiler(tmp_path):
    """Compiles a program that prints sizeof and offsetof of every member with the header and
    compares with ctypes (a member missing on either side fails to compile or changes a size)."""
    cc = _compiler()
    if cc is None:
        pytest.skip("no C compiler (cc/gcc/clang) on PATH to measure the structs with")
    lines = []
    for name, cls in _abi.STRUCTS.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (name, name))
        for f in cls._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (name, f[0], name, f[0]))
    src = tmp_path / "sizes.c"
    src.write_text('#include <stddef.h>\n#include <stdio.h>\n#include "upsample/upsample.h"\n'
                   "int main(void) {\n%s\nreturn 0;\n}\n" % "\n".join(lines))
    exe = tmp_path / "sizes"
    subprocess.run([cc, "-std=c99", "-I", str(HEADER.parent.parent), str(src), "-o", str(exe)], check=True)
    out = dict(line.split() for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                         check=True).stdout.splitlines())
    for name, cls in _abi.STRUCTS.items():
        assert int(out[name]) == ctypes.sizeof(cls), "sizeof(%s)" % name
        for f in cls._fields_:
            assert int(out["%s.%s" % (name, f[0])]) == getattr(cls, f[0]).offset, "%s.%s" % (name, f[0])
