"""Tables on the terminal, and eval/report/: a Markdown report, a PNG chart, the worst questions."""

from __future__ import annotations

from pathlib import Path

from eval.runner import ACCURACY_METRICS, ModeReport

COLUMNS = (*ACCURACY_METRICS, "mean_passage_chars", "questions")
WORST_SHOWN = 15


def _row(label: str, values: dict[str, float]) -> str:
    cells = [f"{values[c]:.3f}" if c in ACCURACY_METRICS else f"{values[c]:.0f}" for c in COLUMNS]
    return f"| {label} | " + " | ".join(cells) + " |"


def mode_table(report: ModeReport) -> str:
    lines = [f"| {report.mode} | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|",
             _row("**all**", report.overall)]
    lines += [_row(kind, values) for kind, values in report.by_type.items()]
    u = report.unanswerable
    if u["questions"]:
        lines.append(f"\nUnanswerable ({u['questions']}): {u['share_below_threshold']:.0%} score below "
                     f"{u['threshold']:.4f}, the top score that 95% of answerable questions exceed.")
    if u.get("answerable_flagged") is not None:
        caught = "" if u.get("unanswerable_flagged") is None else f"{u['unanswerable_flagged']:.0%} of unanswerable, "
        lines.append(f"\nno_answer: {caught}{u['answerable_flagged']:.1%} of answerable questions flagged.")
    if "gold_passage_answer_f1" in report.overall:
        lines.append(f"\nReading the answering passage itself (no retrieval loss): answer char-F1 "
                     f"{report.overall['gold_passage_answer_f1']:.3f}.")
    lines.append(f"Responses with overlapping results: {u.get('responses_with_overlap', 0)}; with one result "
                 f"going on where another of its article ends: {u.get('responses_continued', 0)}.")
    return "\n".join(lines)


def reliability(report: ModeReport, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean confidence, share that holds the answer, count) of the top results, per confidence bin."""
    pairs = [(o.results[0].confidence, bool(o.relevance and o.relevance[0]))
             for o in report.outcomes if o.results and o.results[0].confidence is not None]
    table = []
    for b in range(bins):
        inside = [(c, hit) for c, hit in pairs if b / bins <= c < (b + 1) / bins or (b == bins - 1 and c == 1.0)]
        if inside:
            table.append((sum(c for c, _ in inside) / len(inside), sum(h for _, h in inside) / len(inside),
                          len(inside)))
    return table


def write_calibration_chart(name: str, report: ModeReport, path: Path) -> bool:
    """A reliability plot of the top result's confidence; False when the mode gives no confidence."""
    table = reliability(report)
    if not table:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([c for c, _, _ in table], [h for _, h, _ in table], "o-", label=report.mode)
    for c, h, n in table:
        ax.annotate(str(n), (c, h), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("confidence of the first result")
    ax.set_ylabel("share of first results holding the answer")
    ax.set_title(f"{name}: calibration")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def importance_table(limit: int = 12) -> str:
    from index.rank.model import RankerModel, RankerModelError

    try:
        info = RankerModel.load().info
    except RankerModelError as exc:
        return str(exc)
    tables = []
    for key, heading in (("importance_passages", "reranker"), ("importance_answerable", "no-answer model")):
        rows = list(info.get(key, {}).items())[:limit]
        tables.append(f"| {heading} feature | share of gain |\n|---|---|\n"
                      + "\n".join(f"| {n} | {g:.3f} |" for n, g in rows))
    return "\n\n".join(tables)


def worst_questions(report: ModeReport, limit: int = WORST_SHOWN) -> str:
    """Answerable questions whose first hit is lowest (or absent), with what came back instead."""
    missed = [o for o in report.outcomes if o.question.answerable and o.first_hit_rank != 1]
    missed.sort(key=lambda o: (-(o.first_hit_rank or 99), o.question.id))
    lines = []
    for outcome in missed[:limit]:
        q = outcome.question
        rank = outcome.first_hit_rank or "none in top 10"
        lines.append(f"- **{q.id}** ({q.type}) {q.question} — answer {' / '.join(q.answers)} in "
                     f"{', '.join(q.gold_doc_ids)}; first hit: {rank}")
        for r in outcome.results[:3]:
            snippet = r.text.replace("\n", " ")[:70]
            lines.append(f"    - {r.rank}. `{r.doc_id} {r.start}-{r.end}` {snippet}…")
    return "\n".join(lines) or "Every answerable question has its answer first."


def write_chart(name: str, reports: dict[str, ModeReport], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = ["all", *next(iter(reports.values())).by_type]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(reports)
    for i, (mode, report) in enumerate(reports.items()):
        overall = [report.overall[m] for m in ACCURACY_METRICS]
        axes[0].bar([x + i * width for x in range(len(ACCURACY_METRICS))], overall, width, label=mode)
        per_type = [report.overall["hit@1"]] + [v["hit@1"] for v in report.by_type.values()]
        axes[1].bar([x + i * width for x in range(len(groups))], per_type, width, label=mode)
    for ax, labels, title in ((axes[0], ACCURACY_METRICS, "overall"), (axes[1], groups, "Hit@1 by question type")):
        ax.set_xticks([x + width * (len(reports) - 1) / 2 for x in range(len(labels))], labels, rotation=20)
        ax.set_ylim(0, 1)
        ax.set_title(f"{name}: {title}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(name: str, description: str, reports: dict[str, ModeReport], out_dir: Path,
                 failures: list[str]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = out_dir / f"{name}.png"
    write_chart(name, reports, chart)
    gate = "passed" if not failures else "FAILED:\n" + "\n".join(f"- {f}" for f in failures)
    parts = [f"# Retrieval evaluation: {name}", "", description, "", f"![modes]({chart.name})", "",
             f"Gate: {gate}", ""]
    for report in reports.values():
        parts += [f"## {report.mode}", "", mode_table(report), ""]
    default = reports.get("hybrid") or next(iter(reports.values()))
    calibration = out_dir / f"{name}-calibration.png"
    if write_calibration_chart(name, default, calibration):
        parts += ["## Calibration of the confidence", "",
                  "Each point: the first results whose confidence falls in one tenth of [0, 1] (count beside "
                  "it), against the share of them that hold the answer (unanswerable questions never do).", "",
                  f"![calibration]({calibration.name})", ""]
    if "hybrid" in reports:
        parts += ["## What the reranker looks at", "", importance_table(), ""]
    parts += [f"## Worst questions ({default.mode})", "", worst_questions(default), ""]
    path = out_dir / f"{name}.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
