"""The machine's measured f32 peak and read bandwidth (bench/peak.c).

Builds peak.c with the system C compiler into a temporary folder (`-mavx512f
-mfma`, 24 zmm FMA chains, on AVX-512 machines; `-mavx2 -mfma`, 12 ymm chains,
otherwise), checks that the FMA loop's disassembly (`objdump -d`) has no memory
operand between its first and last FMA (a spilled accumulator would halve the
figure), and runs it on one core and on `threads` cores, pinned. The stream
part reads an L2-sized, an L3-sized and a DRAM-sized buffer (the decode
workload's GB/s column is read against these).

    python -m attn_mlir.bench.peak [--threads N]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "peak.c"
STREAM_SIZES = {"L2": 512 << 10, "L3": 16 << 20, "DRAM": 512 << 20}


def _avx512() -> bool:
    try:
        return " avx512f " in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def fma_loop_memory_operands(disassembly: str) -> int:
    """Memory operands between the first and the last FMA of `fma_loop`."""
    body = disassembly.split("<fma_loop>:", 1)[-1].split("\n\n", 1)[0].splitlines()
    fmas = [i for i, ln in enumerate(body) if "vfmadd" in ln]
    if not fmas:
        return -1
    return sum(1 for ln in body[fmas[0]:fmas[-1] + 1] if re.search(r"\(%r", ln))


def measure_peak(threads: int, seconds: float = 1.0) -> dict:
    """{'gflops_1', 'gflops_threads', 'isa', 'flags', 'stream_gbps': {...}} or {'error'}."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return {"error": "no C compiler", "source": "not measured"}
    avx512 = _avx512()
    flags = ["-O2", "-mavx512f", "-mfma"] if avx512 else ["-O2", "-mavx2", "-mfma", "-DUSE_AVX2"]
    with tempfile.TemporaryDirectory(prefix="attn-peak-") as tmp:
        exe = Path(tmp) / "peak"
        build = subprocess.run([cc, *flags, "-pthread", str(SOURCE), "-o", str(exe)],
                               capture_output=True, text=True)
        if build.returncode != 0:
            return {"error": build.stderr.strip()[-300:], "source": "not measured"}
        res = {"isa": "AVX-512, 24 zmm chains" if avx512 else "AVX2, 12 ymm chains",
               "flags": " ".join(flags)}
        objdump = shutil.which("objdump")
        if objdump:
            dis = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(exe)],
                                 capture_output=True, text=True).stdout
            res["fma_loop_memory_operands"] = fma_loop_memory_operands(dis)

        def run(*argv):
            out = subprocess.run([str(exe), *map(str, argv)], capture_output=True, text=True)
            return float(out.stdout.split()[-1]) if out.returncode == 0 else float("nan")
        res["gflops_1"] = run("fma", 1, seconds)
        res["gflops_threads"] = run("fma", threads, seconds) if threads > 1 else res["gflops_1"]
        res["stream_gbps"] = {name: run("stream", threads, size, seconds / 2)
                              for name, size in STREAM_SIZES.items()}
    spill = res.get("fma_loop_memory_operands")
    res["source"] = (f"bench/peak.c, {res['isa']}, {res['gflops_1']:.0f} GFLOP/s on 1 core"
                     + ("" if spill in (0, None) else f", WARNING: {spill} memory operands in "
                        "the FMA loop (spills)"))
    return res


def main(argv=None) -> None:
    from ..toolchain import cpu_count

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    print(json.dumps(measure_peak(args.threads or cpu_count()), indent=1))


if __name__ == "__main__":
    main()
