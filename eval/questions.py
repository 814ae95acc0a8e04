"""Question sets: the seed questions (eval/questions.jsonl) and the CMRC 2018 dev queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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


def load_cmrc_questions(cmrc_dir: Path, stride: int = 1) -> list[Question]:
    """CMRC queries; with stride > 1, every stride-th one (a fixed, spread-out subset)."""
    rows = _read_jsonl(cmrc_dir / "queries.jsonl")[::stride]
    return [
        Question(row["id"], row["question"], tuple(row["answers"]), tuple(row["gold_passage_ids"]), "cmrc")
        for row in rows
    ]
