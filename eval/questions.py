"""Question sets: the seed questions (eval/questions.jsonl) and the normalized benchmarks (CMRC 2018, DRCD)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eval.splits import Part, in_part

SEED_QUESTIONS = Path(__file__).with_name("questions.jsonl")
TYPES = ("fact", "paraphrase", "disambiguation", "numeric", "unanswerable")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    gold_doc_ids: tuple[str, ...]  # empty for an unanswerable question
    type: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_seed_questions(path: Path = SEED_QUESTIONS) -> list[Question]:
    questions = []
    for row in _read_jsonl(path):
        gold = (row["doc_id"],) if row.get("doc_id") else ()
        questions.append(Question(row["id"], row["question"], tuple(row["answers"]), gold, row["type"]))
    return questions


def load_benchmark_questions(bench_dir: Path, part: Part = "all") -> list[Question]:
    """A normalized benchmark's queries (CMRC 2018, DRCD): all, or the train / held-out part by article."""
    titles = {row["id"]: row["title"] for row in _read_jsonl(bench_dir / "passages.jsonl")}
    kind = bench_dir.name.split("_")[0]
    return [
        Question(row["id"], row["question"], tuple(row["answers"]), tuple(row["gold_passage_ids"]), kind)
        for row in _read_jsonl(bench_dir / "queries.jsonl")
        if in_part(titles[row["gold_passage_ids"][0]], part)
    ]


def to_traditional(questions: list[Question]) -> list[Question]:
    """The same questions written in traditional characters (OpenCC s2t), answers unchanged."""
    import opencc

    convert = opencc.OpenCC("s2t").convert
    return [Question(q.id, convert(q.question), q.answers, q.gold_doc_ids, q.type) for q in questions]
