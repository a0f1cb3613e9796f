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


def _ms(r: dict | None) -> str:
    if r is None:
        return "-"
    if "error" in r:
        return "failed"
    if "median_s" not in r:
        return "-"
    flag = " *" if r.get("disturbed_rounds") else ""
    return f"{r['median_s'] * 1e3:.3f} ({r['min_s'] * 1e3:.3f}){flag}"


def markdown(results: dict) -> str:
    m = results["machine"]
    peers = _peer_order(results)
    peak = m.get("peak", {})
    stream = peak.get("stream_gbps", {})
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads, "
        f"AVX-512: {'yes' if m['avx512'] else 'no'}.",
        f"Peak: {m['peak_gflops']:.0f} GFLOP/s on {m['threads']} threads ({m.get('peak_source', '?')}); "
        "read bandwidth " + ", ".join(f"{k} {v:.1f} GB/s" for k, v in stream.items()) + ".",
        f"numpy peer BLAS: {m.get('numpy_kernel', '?')}.",
        f"Each implementation runs each workload in a fresh process; times are per call, "
        f"median (min) of {results['rounds']} interleaved rounds (in a seeded random order each round) "
        "after the first call; "
        "`*`: other processes used more than 5% of the machine during a round.",
        "",
        f"| workload | GFLOP | {OURS} median (min) ms | {OURS} first call ms | best f32 peer | "
        f"its median ms | ours / best f32 peer | {OURS} GFLOP/s | % peak | compile s | peak (final) RSS MiB |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["workloads"]:
        ours = row["peers"].get(OURS, {})
        best = row.get("best_peer")
        first = f"{ours['first_call_s'] * 1e3:.3f}" if "first_call_s" in ours else "-"
        gf = f"{ours['gflops']:.1f}" if "gflops" in ours else "-"
        if row.get("kind") in ("decode", "decoder_step") and ours.get("gbps"):
            gf += f" ({ours['gbps']:.1f} GB/s)"
        pct = f"{100 * ours['gflops'] / m['peak_gflops']:.0f}%" if "gflops" in ours else "-"
        comp = f"{ours['compile_s']:.2f}" if "compile_s" in ours else "-"
        rss = (f"{ours['peak_rss_mib']:.0f} ({ours['rss_mib']:.0f})" if "rss_mib" in ours
               else "-")
        ratio = f"{row['ratio_to_best_peer']:.2f}x" if "ratio_to_best_peer" in row else "-"
        lines.append(f"| {row['workload']} | {row['flops'] / 1e9:.3f} | {_ms(ours)} | {first} | "
                     f"{best or '-'} | {_ms(row['peers'].get(best)) if best else '-'} | {ratio} | "
                     f"{gf} | {pct} | {comp} | {rss} |")
    lines += ["", "All implementations, median (min) ms per call; first call in the JSON:", "",
              "| workload | " + " | ".join(peers) + " |",
              "|---|" + "---:|" * len(peers)]
    for row in results["workloads"]:
        lines.append(f"| {row['workload']} | " + " | ".join(_ms(row["peers"].get(p)) for p in peers)
                     + " |")
    lines += ["", "Peak (final) resident set of each worker, MiB (constant weights: "
              "llama_attn 64 MiB, llama_decoder / llama_decode_step 205 MiB):", "",
              "| workload | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
    for row in results["workloads"]:
        cells = []
        for p in peers:
            r = row["peers"].get(p, {})
            cells.append(f"{r['peak_rss_mib']:.0f} ({r['rss_mib']:.0f})" if "rss_mib" in r else "-")
        lines.append(f"| {row['workload']} | " + " | ".join(cells) + " |")
    configs = {}
    for row in results["workloads"]:
        for p, r in row["peers"].items():
            if "config" in r:
                configs.setdefault(p, f"{r.get('version', '?')}: {r['config']}")
    lines += ["", "Configurations:"] + [f"- {p}: {c}" for p, c in configs.items()]
    for p, why in m.get("skipped_peers", {}).items():
        lines.append(f"- {p}: skipped ({why})")
    errors = [(row["workload"], p, r["error"]) for row in results["workloads"]
              for p, r in row["peers"].items() if "error" in r]
    if errors:
        lines += ["", "Failures:"] + [f"- {w} / {p}: {e}" for w, p, e in errors]
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
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["workload"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("GFLOP/s (median)")
    m = results["machine"]
    ax.set_title(f"attention kernels, {m['cores']} cores, {m['threads']} threads")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_reports(out: Path, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown(results))
    chart(results, out / "results.png")
