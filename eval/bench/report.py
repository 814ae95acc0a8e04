"""bench.md and the PNG charts, from bench.json's content."""

from __future__ import annotations

from pathlib import Path

from eval.bench.distractors import markdown_section as distractors_section
from eval.bench.filters import markdown_section as filters_section
from eval.bench.milvus import markdown_section
from eval.bench.search import NOREAD, UNRANKED
from index.settings import MODES


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: dict) -> str:
    search, http, build, memory, scale = (results[k] for k in ("search", "http", "build", "memory", "scale"))
    m, enc = results["machine"], results["encoder"]
    to_ref = search.get("ratio_to_reference", {})
    by_round = search.get("hybrid_to_reference_by_round")
    parts = [
        "# Performance benchmark", "",
        f"Commit {results['commit']} on {m['cpu']}, {m['cores']} cores ({', '.join(m.get('simd', []))}), "
        f"{m['memory_gb']} GB, load average {m.get('load_average_at_start')} at the start; Python {m['python']}, "
        f"onnxruntime {m.get('onnxruntime')}, torch {m['torch']} ({m['torch_threads']} threads, reference only). "
        f"Encoder: ONNX Runtime {enc['precision']}, {enc['threads_per_call']} thread(s) per call, "
        f"{enc['calls_at_once']} call(s) at once ({enc['encoder']}). "
        "Latencies in ms; each figure is the median over rounds, with the spread of p50 (min–max). "
        "Ratios are taken within this run: the machine may be shared, so absolute times drift between runs.", "",
        "## Targets", "",
        _table(["target", "measured", "goal", "met"],
               [[t["target"], t["measured"], t["goal"], "yes" if t["met"] else "**no**"] for t in results["targets"]]),
        "", "## Search in process (seed corpus, k=5)", "",
        _table(["", "p50", "p95", "p99", "p50 spread", "ratio to floor", "ratio to reference"],
               [[name, search[name]["p50"], search[name]["p95"], search[name]["p99"],
                 f"{search[name]['p50_spread']['min']}–{search[name]['p50_spread']['max']}",
                 search["ratio_to_floor"].get(name, 1.0 if name == "floor" else ""), to_ref.get(name, 1.0)]
                for name in ("reference", "reference_1t", "floor", *MODES, UNRANKED, NOREAD) if name in search]),
        "", "reference: a plain sentence-transformers torch fp32 `encode` of one question with the same converted "
        "model, with torch's default threads; reference_1t: the same with one torch thread. Ratios are to the "
        f"faster of the two ({search.get('yardstick')}, p50 {search.get('yardstick_p50')} ms by round medians). "
        "floor: this project's own query-embedding call (the encoder the index was built with). "
        f"{UNRANKED}: hybrid with no ranking stage (fused order); the ranking stage costs "
        f"{search['ranking_stage_ms']['median']:.2f} ms at p50 ({search['ranking_stage_ms']['min']:.2f}–"
        f"{search['ranking_stage_ms']['max']:.2f} over rounds)."
        + (f" {NOREAD}: hybrid with the reader off; reading the first result costs "
           f"{search['reading_stage_ms']['median']:.2f} ms at p50 ({search['reading_stage_ms']['min']:.2f}–"
           f"{search['reading_stage_ms']['max']:.2f} over rounds)." if "reading_stage_ms" in search else "")
        + (f" Hybrid / reference round by round: {by_round['median']} ({by_round['min']}–{by_round['max']})."
           if by_round else ""), "",
        "## Encoder thread layouts (in process, hybrid, seed corpus)", "",
        _table(["threads per call × calls at once", "single-question p50", "questions/s, 1 at a time",
                "questions/s, 8 threads", "scaling"],
               [[f"{v['threads_per_call']} × {v['calls_at_once']}", v["single_p50_ms"], v["qps_1"], v["qps_8"],
                 v["scaling"]] for v in results["layouts"].values()]),
        "", "## Over HTTP (hybrid, loopback)", "",
        _table(["concurrency", "p50", "p95", "p99", "req/s", "server took_ms p50", "server took_ms p95", "errors"],
               [[c, v["p50"], v["p95"], v["p99"], v["rps"], v["server_took_p50"], v.get("server_took_p95"),
                 v["errors"]] for c, v in http.items()]
               + [[f"{c}, reader off", v["p50"], v["p95"], v["p99"], v["rps"], v["server_took_p50"],
                   v.get("server_took_p95"), v["errors"]] for c, v in results.get("http_noread", {}).items()]),
        "", "## Cold start (whole `qa search` process, wall time in s)", "",
        _table(["mode", "median", "min", "max", "runs"],
               [[mode, v["median"], v["min"], v["max"], v["runs"]] for mode, v in results["cold"].items()]),
        "", "## Index build", "",
        _table(["corpus", "passages", "passages/s", "spread", "embed passages/s", "cores busy", "passages/CPU-s",
                "load+clean s", "tokenize s", "embed s", "write s"],
               [[name, b["passages"], b["passages_per_s"]["median"],
                 f"{b['passages_per_s']['min']}–{b['passages_per_s']['max']}", b["embed_passages_per_s"],
                 b.get("cores_busy"), b.get("passages_per_cpu_s"), b["seconds"]["load_and_clean"],
                 b["seconds"]["tokenize"], b["seconds"]["embed"], b["seconds"]["write"]]
                for name, b in build.items()]),
        "", "cores busy: CPU-seconds the build used per wall second (the machine has "
        f"{m['cores']}); below {m['cores']}, other processes held the rest.",
        "", "## Memory", "",
        f"qa serve after warm-up: {memory['serve']['rss_mb']} MB resident (peak {memory['serve']['peak_rss_mb']} MB)"
        + (f", {memory['serve_noread']['rss_mb']} MB with the reader off" if "serve_noread" in memory else "")
        + "; "
        f"qa index on the seed corpus: peak {memory['index']['peak_rss_mb']} MB.", "",
        "## Scale (synthetic passages; vectors derived from "
        f"{scale['real_vectors']} real embeddings, text from {scale['real_sentences']} real sentences)", "",
        _table(["passages", "flat build s", "flat MB", "flat p50", "hnsw build s", "hnsw MB", "hnsw p50",
                "hnsw recall@10", "bm25 build s", "bm25 MB", "bm25 p50", "hybrid w/o embedding p50 (index)"],
               [[f"{int(n):,}", s["flat"]["build_s"], s["flat"]["memory_mb"], s["flat"]["query"]["p50"],
                 s["hnsw"]["build_s"], s["hnsw"]["memory_mb"], s["hnsw"]["query"]["p50"], s["hnsw"]["recall_at_10"],
                 s["bm25"]["build_s"], s["bm25"]["memory_mb"], s["bm25"]["query"]["p50"],
                 f"{s['hybrid_without_embedding']['query']['p50']} ({s['hybrid_without_embedding']['dense_index']})"]
                for n, s in scale["sizes"].items()]),
        "", f"The index switches from exact to HNSW at {scale['hnsw_threshold']:,} passages (settings.hnsw_threshold).",
        *_updates_section(results.get("updates")),
        *markdown_section(results.get("milvus")),
        *(["", *filters_section(results["filters"])] if results.get("filters") else []),
        *distractors_section(results.get("distractors")),
    ]
    return "\n".join(parts) + "\n"


def reading_section(reading: dict) -> list[str]:
    """`qa bench --only reading`: server took_ms and memory with and without the reader."""
    rows = [[label, r["http"]["server_took_p50"], r["http"]["server_took_p95"], r["http"]["p50"], r["memory"]["rss_mb"]]
            for label, r in (("reader on", reading["reader"]), ("reader off (QA_READER=0)", reading["noread"]))]
    added = reading["reading_added_ms"]
    return ["## Reading: qa serve with and without the reader (HTTP, concurrency 1)", "",
            _table(["server", "took_ms p50", "took_ms p95", "HTTP p50 (ms)", "RSS (MB)"], rows), "",
            f"Reading adds {added['p50']} ms at p50 and {added['p95']} ms at p95 (targets: p50 <= 25 ms, "
            f"RSS with the reader <= 550 MB)."]


def _updates_section(updates: dict | None) -> list[str]:
    if not updates:
        return []
    rows = [[f"{u['passages']:,}", u["article_passages"], u.get("embed_article_s", "-"), u["add_s"], u["remove_s"],
             u.get("reload_after_add_s", "-"), u.get("full_load_s", "-"), u["full_build_s"],
             round(u["full_build_s"] / max(u["add_s"], 1e-9), 1), u["full_build"]]
            for name, u in updates.items() if name != "build_passages_per_s"]
    return ["", "## Adding and removing one article (qa add / qa remove)", "",
            _table(["index passages", "article passages", "embed article s", "add s", "remove s",
                    "server reload s", "whole load s", "full build s", "full build / add", "full build"], rows),
            "", "An add embeds only the article and writes it as a new segment; a remove lists the document as "
            "deleted; either way a new manifest replaces the old one in one rename, and nothing else is rewritten "
            "or re-hashed. BM25 statistics are computed over all live passages on load. A server's reload reads "
            "and verifies only the new segment. At HNSW size the graph is rebuilt from the stored vectors on "
            "every change (see index/live/update.py)."]


def charts(results: dict, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    search = results["search"]
    names = [n for n in ("reference", "reference_1t", "floor", *MODES, UNRANKED, NOREAD) if n in search]
    for offset, key in ((-0.2, "p50"), (0.2, "p95")):
        axes[0].bar([i + offset for i in range(len(names))], [search[n][key] for n in names], 0.4, label=key)
    axes[0].set_xticks(range(len(names)), names)
    axes[0].set_title("search in process (ms)")
    axes[0].legend()
    http = results["http"]
    conc = list(http)
    axes[1].plot(conc, [http[c]["p50"] for c in conc], marker="o", label="p50 ms")
    axes[1].plot(conc, [http[c]["p95"] for c in conc], marker="o", label="p95 ms")
    ax_rps = axes[1].twinx()
    ax_rps.bar(conc, [http[c]["rps"] for c in conc], alpha=0.2, color="gray")
    ax_rps.set_ylabel("requests/s (bars)")
    axes[1].set_title("HTTP latency by concurrency")
    axes[1].legend(loc="upper left")
    sizes = results["scale"]["sizes"]
    xs = [int(n) for n in sizes]
    for key, label in (("flat", "FAISS exact"), ("hnsw", "FAISS HNSW"), ("bm25", "BM25"),
                       ("hybrid_without_embedding", "hybrid w/o embedding")):
        axes[2].plot(xs, [sizes[n][key]["query"]["p50"] for n in sizes], marker="o", label=label)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_title("query p50 (ms) by corpus size")
    axes[2].legend()
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "bench.png", dpi=110)
    plt.close(fig)


def write_bench_report(results: dict, out_dir: Path) -> Path:
    charts(results, out_dir)
    path = out_dir / "bench.md"
    path.write_text(markdown(results) + "\n![charts](bench.png)\n", encoding="utf-8")
    return path
