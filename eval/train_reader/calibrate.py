"""Fitting the reading calibration (index/read/decide.py) on the reader's calibration part.

Questions of training articles the reader never trained on are asked through the whole
pipeline, with the reader on: as they are (answerable), changed into on-topic questions their
article cannot answer (a year or number it never mentions, its rarest specific word swapped),
and asked of the other benchmark's index (their article missing). From the ranker's
probabilities and the reader's margin:

- confidence: does the first result hold the answer (a logistic regression);
- no answer: the reader's margin cut that, with the ranker's own cut, flags 5% of the questions
  answerable and answered in the first five results.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from eval.relevance import is_hit
from eval.train.data import changed_noun, changed_number, noun_pool
from eval.train_reader.data import Asked
from index.read.decide import MARGIN_LIMIT, clipped_margin, logit
from index.search import Searcher

FLAGGED_ANSWERABLE = 0.05
RESULTS = 5


def rows_for(searcher: Searcher, asked: list[Asked], foreign: list[Asked], progress: bool = True) -> list[tuple]:
    """(answerable prob, first confidence, margin, first holds the answer, answer in the first five,
    kind) for each question asked of this searcher's index."""
    questions = [a.question for a in asked]
    pools = noun_pool(searcher, questions)
    asks: list[tuple[str, object, str]] = [(q.question, q, "asked") for q in questions]
    for number, q in enumerate(questions):
        view = searcher.reranker.views.article(q.gold_doc_ids[0])
        changed = changed_number(q.question, view) if number % 2 else \
            changed_noun(searcher.question_view(q.question), view, pools.get(q.gold_doc_ids[0], {}))
        if changed:
            asks.append((changed, None, "changed"))
    asks += [(a.question.question, None, "article missing") for a in foreign]
    rows = []
    saved, searcher.reading_calibration = searcher.reading_calibration, None
    try:
        for text, question, kind in tqdm(asks, desc="calibration questions", disable=not progress):
            response, signals = searcher.search_with_signals(text, RESULTS)
            if signals.first_margin is None or signals.answerable is None:
                continue
            hits = [question is not None and is_hit(r.doc_id, r.text, question.gold_doc_ids, question.answers)
                    for r in response.results]
            rows.append((signals.answerable, signals.first_confidence, signals.first_margin,
                         bool(hits and hits[0]), any(hits), kind))
    finally:
        searcher.reading_calibration = saved
    return rows


def _fit(probabilities: np.ndarray, margins: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression

    x = np.column_stack([[logit(p) for p in probabilities], [clipped_margin(m) for m in margins]])
    model = LogisticRegression(C=1.0).fit(x, labels)
    return {"weights": [round(float(w), 6) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 6)}


def margin_cut(answerable: np.ndarray, margins: np.ndarray, any_hit: np.ndarray, ranker_threshold: float,
               share: float = FLAGGED_ANSWERABLE) -> float:
    """The margin below which "no answer" is said, so that it and the ranker's own cut together
    flag `share` of the answerable questions (the highest such cut)."""
    answered = any_hit.astype(bool)
    allowed = int(share * answered.sum()) - int((answerable[answered] < ranker_threshold).sum())
    rest = np.sort(margins[answered & (answerable >= ranker_threshold)])
    if allowed <= 0 or len(rest) == 0:
        return -MARGIN_LIMIT  # the ranker alone flags the share: only a reading with no span adds
    return float(rest[allowed]) if allowed < len(rest) else MARGIN_LIMIT


def fit_calibration(rows: list[tuple], ranker_threshold: float) -> dict:
    answerable = np.array([r[0] for r in rows])
    confidence = np.array([r[1] for r in rows])
    margins = np.array([r[2] for r in rows])
    first_hit = np.array([r[3] for r in rows])
    any_hit = np.array([r[4] for r in rows])
    cut = margin_cut(answerable, margins, any_hit, ranker_threshold)
    flagged = (answerable < ranker_threshold) | (margins < cut)
    kinds = sorted({r[5] for r in rows})
    caught = {kind: round(float(np.mean([f for f, r in zip(flagged, rows, strict=True)
                                         if r[5] == kind and not r[4]] or [0.0])), 4) for kind in kinds}
    return {"confidence": _fit(confidence, margins, first_hit), "no_answer_margin": round(cut, 4),
            "fitted_on": {"rows": len(rows), "answerable": int(any_hit.sum()), "ranker_threshold": ranker_threshold,
                          "answerable_flagged": round(float(flagged[any_hit.astype(bool)].mean()), 4),
                          "caught": caught}}
