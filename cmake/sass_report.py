#!/usr/bin/env python3
"""SASS instruction mix of a kernel source's hot loops (no GPU needed).

Compiles SOURCE to a cubin per architecture (nvcc -cubin), disassembles it (cuobjdump -sass), and
for every kernel whose name matches --kernel finds its main loop: the backward branch whose body
holds the most math instructions (HMMA, FFMA, DFMA). It prints the loop's length and its mix by
class: math, shared loads (LDSM/LDS), asynchronous copies (LDGSTS), global loads, barriers and
waits, integer/address arithmetic, predicates/moves/branches, and it fails (exit 1) when a loop
holds a call (an integer-division subroutine, for instance) or local-memory traffic.

  python3 cmake/sass_report.py cuda/conv_transpose/implicit_gemm/implicit_gemm.cu \
      --arch 80 90 --kernel conv_transpose_implicit_gemm_kernel -I . -I include

cuobjdump comes with the toolkit, or from PyPI (nvidia-cuda-cuobjdump): set CUOBJDUMP or PATH.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, OrderedDict

CLASSES = OrderedDict([
    ("math", re.compile(r"^(HMMA|IMMA|DMMA|FFMA|DFMA|FMUL|DMUL|FADD|DADD|HFMA2)")),
    ("ldsm/lds", re.compile(r"^(LDSM|LDS)")),
    ("ldgsts", re.compile(r"^(LDGSTS|LDGDEPBAR|DEPBAR)")),
    ("global ld/st", re.compile(r"^(LDG|STG|LD|ST)\b")),
    ("shared st", re.compile(r"^STS")),
    ("barrier", re.compile(r"^(BAR|WARPSYNC|BSYNC|BSSY)")),
    ("integer/address", re.compile(r"^(IMAD|IADD3|IADD|LEA|SHF|LOP3|LOP|IABS|IMNMX|ISETP|SHL|SHR|IMUL|POPC|FLO|BMSK|SGXT|PRMT)")),
    ("convert", re.compile(r"^(F2F|F2I|I2F|F2FP|I2FP)")),
    ("move/predicate", re.compile(r"^(MOV|SEL|PLOP3|P2R|R2P|CS2R|S2R|S2UR|ULDC|UMOV|UIADD3|ULEA|UISETP|USHF|ULOP3|UIMAD|FSEL|FSETP|DSETP|VOTEU|VOTE|R2UR)")),
    ("branch", re.compile(r"^(BRA|EXIT|RET|NOP|YIELD|JMP|BRX)")),
    ("call", re.compile(r"^(CALL)")),
    ("local", re.compile(r"^(LDL|STL)")),
])
MATH = re.compile(r"^(HMMA|FFMA|DFMA)")

LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(@!?U?P[T0-9]\s+)?([A-Z0-9_.]+)([^;]*);")


def disassemble(source, arch, includes, nvcc, cuobjdump):
    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(tmp, "k.cubin")
        cmd = [nvcc, "-std=c++17", "-O3", "-cubin", f"-arch=sm_{arch}", source, "-o", cubin]
        for inc in includes:
            cmd += ["-I", inc]
        subprocess.run(cmd, check=True)
        return subprocess.run([cuobjdump, "-sass", cubin], check=True, capture_output=True, text=True).stdout


def functions(sass):
    current, body = None, []
    for line in sass.splitlines():
        m = re.search(r"Function : (\S+)", line)
        if m:
            if current:
                yield current, body
            current, body = m.group(1), []
            continue
        m = LINE.search(line)
        if m and current:
            body.append((int(m.group(1), 16), m.group(3), m.group(4)))
    if current:
        yield current, body


def main_loop(body):
    """The backward branch [target, branch] whose body has the most math instructions."""
    index = {addr: i for i, (addr, _, _) in enumerate(body)}
    best = None
    for i, (addr, op, args) in enumerate(body):
        if not op.startswith("BRA"):
            continue
        m = re.search(r"0x([0-9a-f]+)", args)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= addr or target not in index:
            continue
        loop = body[index[target]:i + 1]
        math = sum(1 for _, o, _ in loop if MATH.match(o))
        if best is None or math > best[0]:
            best = (math, loop)
    return best[1] if best else []


def classify(loop):
    mix = Counter()
    end = loop[-1][0] + 0x10 if loop else 0
    for _, op, args in loop:
        # CALL.REL.NOINC to the instruction just past the loop is how ptxas leaves a loop whose
        # warps must reconverge there: control flow, not a subroutine.
        if op.startswith("CALL.REL.NOINC") and re.search(r"0x([0-9a-f]+)", args) and \
                int(re.search(r"0x([0-9a-f]+)", args).group(1), 16) == end:
            mix["branch"] += 1
            continue
        for name, pattern in CLASSES.items():
            if pattern.match(op):
                mix[name] += 1
                break
        else:
            mix["other:" + op.split(".")[0]] += 1
    return mix


def demangle(name):
    try:
        out = subprocess.run(["c++filt", name], capture_output=True, text=True).stdout.strip()
    except OSError:
        return name
    out = out.replace("upsample::cuda::implicit_gemm::", "")
    m = re.match(r"void (\w+)<(.*?)(, BiasEpilogue.*)?>\(", out)
    return f"{m.group(1)}<{m.group(2)}>" if m else out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("--arch", nargs="+", default=["80", "90"])
    parser.add_argument("--kernel", default="")
    parser.add_argument("-I", dest="includes", action="append", default=[])
    parser.add_argument("--nvcc", default=os.environ.get("NVCC", "/usr/local/cuda/bin/nvcc"))
    parser.add_argument("--cuobjdump", default=os.environ.get("CUOBJDUMP", shutil.which("cuobjdump") or "cuobjdump"))
    args = parser.parse_args()
    failed = False
    for arch in args.arch:
        sass = disassemble(args.source, arch, args.includes, args.nvcc, args.cuobjdump)
        print(f"=== sm_{arch}")
        for name, body in functions(sass):
            if args.kernel not in name:
                continue
            loop = main_loop(body)
            mix = classify(loop)
            parts = ", ".join(f"{k} {v}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))
            ops = Counter(op.split(".")[0] for _, op, _ in loop)
            detail = " ".join(f"{k}:{ops[k]}" for k in ("HMMA", "FFMA", "DFMA", "LDSM", "LDS", "LDGSTS", "IMAD", "IADD3",
                                                        "LEA", "ISETP", "LOP3", "SHF", "SEL", "BAR") if ops[k])
            print(f"{demangle(name)}\n  main loop: {len(loop)} instructions: {parts}\n  opcodes: {detail}")
            if mix["call"] or mix["local"]:
                print("  FAIL: the main loop calls a subroutine or touches local memory")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
