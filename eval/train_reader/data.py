"""Reader examples from the training parts of CMRC 2018 and DRCD, as search presents them.

For every training question the hybrid pipeline's top results are read as search would read
them (the result's span of its article): a result holding the answer is a positive (the
answer's occurrence nearest the benchmark's answer start), the best ranked other result a negative
whose target is the null position. The answering passage itself is added when search missed it. On
top, for every other question, an on-topic question the article cannot answer (a year or
number it never mentions, else its rarest specific word swapped for another article's: the
constructions of eval/train/data.py) paired with the answering span, as negatives: the hard
case, every other word of the question in the passage.

Articles are split three ways by hash: the held-out third (never used here, eval/splits.py),
and of the rest one in eight is the reader's own calibration part (`part="calibration"`),
which training never sees either.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from eval.questions import Question, _read_jsonl
from eval.splits import is_held_out
from eval.train.data import changed_noun, changed_number, noun_pool
from index.search import Searcher

CALIBRATION_ONE_IN = 8  # of the training articles, one in eight calibrates and never trains
RESULTS_READ = 3  # search results per question looked at
NEGATIVES_READ = 1  # of them, results without the answer kept as negatives (the best ranked)


@dataclass
class ReaderExample:
    question: str
    context: str  # the text read: a result's span of its article
    answer_start: int  # character offsets into context; -1 when it holds no answer
    answer_end: int
    article: str  # the gold article's title
    kind: str  # "result", "gold" (added answering passage), "number" or "noun" (changed question)
    answers: tuple[str, ...] = ()  # every accepted answer (for char-F1), empty for negatives


def reader_part(title: str) -> str:
    """heldout, calibration or train."""
    if is_held_out(title):
        return "heldout"
    digest = hashlib.sha256(("reader:" + title).encode("utf-8")).digest()
    return "calibration" if digest[0] % CALIBRATION_ONE_IN == 0 else "train"


@dataclass
class Asked:
    question: Question
    answer_start: int  # into the benchmark passage (= the indexed document's text)


def asked_questions(bench_dir: Path, part: str) -> list[Asked]:
    """The benchmark's questions whose article is in `part`, with the answer's start."""
    titles = {row["id"]: row["title"] for row in _read_jsonl(bench_dir / "passages.jsonl")}
    kind = bench_dir.name.split("_")[0]
    out = []
    for row in _read_jsonl(bench_dir / "queries.jsonl"):
        gold = row["gold_passage_ids"][0]
        if reader_part(titles[gold]) == part:
            question = Question(row["id"], row["question"], tuple(row["answers"]), (gold,), kind)
            out.append(Asked(question, int(row["answer_starts"][0])))
    return out


def locate(text: str, answer: str, near: int, offset: int = 0) -> int | None:
    """Start (in text) of the occurrence of answer nearest `near` (a position in the article,
    where text starts at `offset`); None when text does not hold it."""
    best, position = None, text.find(answer)
    while position >= 0:
        if best is None or abs(position + offset - near) < abs(best + offset - near):
            best = position
        position = text.find(answer, position + 1)
    return best


def examples_for(searcher: Searcher, asked: list[Asked], progress: bool = True) -> list[ReaderExample]:
    documents = searcher.index.documents
    questions = [a.question for a in asked]
    responses = searcher.search_many([q.question for q in questions], RESULTS_READ)
    pools = noun_pool(searcher, questions)
    out: list[ReaderExample] = []
    for number, (item, response) in enumerate(tqdm(list(zip(asked, responses, strict=True)),
                                                    desc="reader examples", disable=not progress)):
        q = item.question
        gold_doc = q.gold_doc_ids[0]
        article = documents[gold_doc]
        answer = q.answers[0]
        answered, negatives = False, 0
        for result in response.results:
            context = article.text[result.start:result.end] if result.doc_id == gold_doc else result.text
            start = locate(context, answer, item.answer_start, result.start) if result.doc_id == gold_doc else None
            if start is not None:
                answered = True
                out.append(ReaderExample(q.question, context, start, start + len(answer), article.title, "result",
                                         q.answers))
            elif negatives < NEGATIVES_READ:
                negatives += 1
                out.append(ReaderExample(q.question, context, -1, -1, article.title, "result"))
        gold_span = _answering_span(searcher, gold_doc, item.answer_start, answer)
        if gold_span is None:
            continue
        span_start, span_end = gold_span
        context = article.text[span_start:span_end]
        start = locate(context, answer, item.answer_start, span_start)
        if not answered and start is not None:
            out.append(ReaderExample(q.question, context, start, start + len(answer), article.title, "gold",
                                     q.answers))
        if number % 2 == 1:
            view = searcher.reranker.views.article(gold_doc)
            changed = [(changed_number(q.question, view), "number"),
                       (changed_noun(searcher.question_view(q.question), view, pools.get(gold_doc, {})), "noun")]
            text, kind = next(((t, k) for t, k in changed if t), (None, ""))
            if text:
                out.append(ReaderExample(text, context, -1, -1, article.title, kind))
    return out


def _answering_span(searcher: Searcher, doc_id: str, answer_start: int, answer: str) -> tuple[int, int] | None:
    """The indexed passage of doc_id holding the answer nearest answer_start."""
    best = None
    for passage in searcher.index.passages:
        if passage.doc_id != doc_id:
            continue
        where = locate(passage.text, answer, answer_start, passage.start)
        if where is not None:
            distance = abs(passage.start + where - answer_start)
            if best is None or distance < best[0]:
                best = (distance, passage.start, passage.end)
    return None if best is None else (best[1], best[2])


def save_examples(path: Path, examples: list[ReaderExample]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
    tmp.replace(path)


def load_examples(path: Path) -> list[ReaderExample]:
    rows = _read_jsonl(path)
    return [ReaderExample(**{**row, "answers": tuple(row["answers"])}) for row in rows]
