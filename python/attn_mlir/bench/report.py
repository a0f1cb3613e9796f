"""Benchmark reports: results.json, a Markdown table and a PNG chart."""

from __future__ import annotations

import json
from pathlib import Path

OURS = "attn-mlir"


def _peer_order(results: dict) -> list[str]:
    seen = []
    for row in results["workloads"]:
        for p in row["peers"]:
            if p not in seen:
                seen.append(p)
    return [OURS] + [p for p in seen if p != OURS]


def markdown(results: dict) -> str:
    m = results["machine"]
    peers = _peer_order(results)
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads, "
        f"AVX-512: {'yes' if m['avx512'] else 'no'}; peak {m['peak_gflops']:.0f} GFLOP/s "
        f"(reference figure), numpy sgemm 2048^3 {m['sgemm_gflops']:.0f} GFLOP/s in this run; "
        f"median and min of {results['rounds']} rounds.",
        "",
        "| workload | GFLOP | " + " | ".join(f"{p} median (min) ms" for p in peers)
        + f" | {OURS} GFLOP/s | % peak | % sgemm | compile s | ours / best peer |",
        "|---|---:|" + "---:|" * len(peers) + "---:|---:|---:|---:|---:|",
    ]
    for row in results["workloads"]:
        cells = []
        for p in peers:
            r = row["peers"].get(p)
            if r is None:
                cells.append("-")
            elif "error" in r:
                cells.append("failed")
            else:
                cells.append(f"{r['median_s'] * 1e3:.3f} ({r['min_s'] * 1e3:.3f})")
        ours = row["peers"].get(OURS, {})
        gf = f"{ours['gflops']:.1f}" if "gflops" in ours else "-"
        pct = f"{ours['peak_pct']:.0f}%" if "peak_pct" in ours else "-"
        sg = f"{ours['sgemm_pct']:.0f}%" if "sgemm_pct" in ours else "-"
        comp = f"{ours['compile_s']:.2f}" if "compile_s" in ours else "-"
        ratio = (f"{row['ratio_to_best_peer']:.2f}x ({row['best_peer']})"
                 if "ratio_to_best_peer" in row else "-")
        lines.append(f"| {row['workload']} | {row['flops'] / 1e9:.3f} | " + " | ".join(cells)
                     + f" | {gf} | {pct} | {sg} | {comp} | {ratio} |")
    errors = [(row["workload"], p, r["error"]) for row in results["workloads"]
              for p, r in row["peers"].items() if "error" in r]
    if errors:
        lines += ["", "Failures:"] + [f"- {w} / {p}: {e}" for w, p, e in errors]
    compile_rows = [(row["workload"], p, r["compile_s"]) for row in results["workloads"]
                    for p, r in row["peers"].items() if r.get("compile_s")]
    if compile_rows:
        lines += ["", "Compile times (s): " + ", ".join(
            f"{w}/{p} {c:.2f}" for w, p, c in compile_rows)]
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    peers = _peer_order(results)
    rows = [r for r in results["workloads"]]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4.5))
    width = 0.8 / max(1, len(peers))
    for i, p in enumerate(peers):
        xs, ys = [], []
        for j, row in enumerate(rows):
            r = row["peers"].get(p, {})
            if "gflops" in r:
                xs.append(j + (i - (len(peers) - 1) / 2) * width)
                ys.append(r["gflops"])
        ax.bar(xs, ys, width, label=p)
    ax.axhline(results["machine"]["peak_gflops"], color="gray", ls="--", lw=1, label="peak")
    ax.axhline(results["machine"]["sgemm_gflops"], color="gray", ls=":", lw=1,
               label="numpy sgemm")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["workload"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("GFLOP/s (median)")
    m = results["machine"]
    ax.set_title(f"attention kernels, {m['cores']} cores, {m['threads']} threads")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_reports(out: Path, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown(results))
    chart(results, out / "results.png")
