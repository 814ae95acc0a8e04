"""End-to-end quality at scale: the CMRC 2018 held-out passages planted among many distractors.

The small index is the CMRC index `qa eval` searches (every CMRC passage, of held-out and of
training articles, real text and real vectors). The large index is the same passages plus N
distractor passages. Every held-out CMRC question is searched in both by the whole pipeline:
retrieve (BM25 + dense) -> fuse -> LightGBM ranker -> merge -> evidence, in process, each
question's embedding computed once and given to every search. The reader is off: it only
marks the answer span inside the first result and never changes which passages are returned,
so Hit@k does not depend on it. The large index is searched with the dense index its size
gets from the settings (HNSW at or above settings.hnsw_threshold) and, at that size, also with
an exact scan, which separates what the approximate index loses from what the distractors do.

Distractors come from the *training* articles (eval/splits.py) of CMRC and DRCD only, never
from a held-out article. Each one is a passage of its own document, titled after its article:
2-6 whole sentences of one training article drawn at random and kept in the article's order
(on one topic, like a real passage, and each a new combination). Its text, BM25 tokens (its
title's and its sentences' jieba tokens, each sentence tokenized once) and sentence vectors are
real: the sentence vectors are the ones the CMRC and DRCD indexes stored for those sentences
(pooled from the passage they were encoded in). Its passage vector is synthetic: the mean of
its sentence vectors weighted by their length, normalized. On real passages that mean gives
back the stored passage vector at cosine ~0.9998 (measured in each run), and a sample of
distractors is embedded for real in each run to show how close their synthetic vectors come.
Embedding 500k passages for real would take about 5 hours on the 2-core bench machine (29
passages/s), which is why the vectors are derived rather than embedded.

Limit: the distractors reuse the sentences of a few thousand articles (hundreds of variants
of each at 500k), so they cover far fewer distinct topics than a real corpus of that size.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from eval.bench.stats import percentiles
from eval.questions import Question
from eval.relevance import contains_answer, is_hit
from index.ingest.chunking import CLOSERS, SENTENCE_END, Passage, Span, passage_sentences, split_sentences
from index.ingest.documents import Document
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex, TermCounts
from index.settings import Settings
from index.store import LoadedIndex
from index.tokenize import ChineseTokenizer

SENTENCES_PER_DISTRACTOR = (2, 6)  # drawn uniformly; the CMRC index's passages hold 4.2 on average
PART_PASSAGES = 100_000  # distractors per BM25 term-count part (bounds the memory a part's build takes)
VECTOR_CHUNK = 50_000  # distractors whose vectors are averaged at once
EMBED_CHECK = 64  # distractors embedded for real, to compare with their synthetic vectors
DOC_PREFIX = "distractor-"
SOURCE = "distractor"  # the documents' source field
SHOWN = 5  # results per search (Hit@5)


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def joinable(text: str) -> bool:
    """A whole sentence that splits back into itself when sentences are put side by side: it ends
    with an end mark (and any closing quotes), starts with neither, and holds no other break."""
    if not text or text != text.strip() or text[0] in SENTENCE_END or text[0] in CLOSERS:
        return False
    core = text.rstrip("".join(CLOSERS))
    return bool(core) and core[-1] in SENTENCE_END and split_sentences(text) == [Span(0, len(text))]


@dataclass
class SentencePool:
    """The sentences distractors are made of, with their stored vectors and their tokens."""

    texts: list[str]
    rows: np.ndarray  # int64: each sentence's row in `vectors`
    chars: np.ndarray  # float32: each sentence's length (its weight in a passage vector)
    token_start: np.ndarray  # int64: sentence i's tokens are token_ids[token_start[i]:token_start[i + 1]]
    token_ids: np.ndarray  # int32, into vocab
    vocab: list[str]
    titles: list[str]  # per article
    title_tokens: list[np.ndarray]  # per article, int32 into vocab
    by_article: list[np.ndarray]  # per article, its sentences (pool ids) in the article's order
    vectors: np.ndarray  # float16: the sources' stored sentence vectors, one source after another
    eligible_articles: int  # articles of the sources that were eligible (some may hold no joinable sentence)


def sentence_pool(sources: list[LoadedIndex], eligible: Callable[[str], bool],
                  tokenizer: ChineseTokenizer) -> SentencePool:
    """Every joinable sentence of the sources' eligible articles (by title), each once (passages
    overlap: a sentence keeps the vector of the first passage that holds it)."""
    texts: list[str] = []
    rows: list[int] = []
    titles: list[str] = []
    by_article: list[list[int]] = []
    blocks, offset = [], 0
    for number, index in enumerate(sources):
        blocks.append(np.asarray(index.sentence_vectors, dtype=np.float16))
        article_of: dict[str, int] = {}
        seen: set[tuple[str, int, int]] = set()
        for pid, passage in enumerate(index.passages):
            document = index.documents[passage.doc_id]
            if not eligible(document.title):
                continue
            if passage.doc_id not in article_of:
                article_of[passage.doc_id] = len(titles)
                titles.append(document.title)
                by_article.append([])
            members = by_article[article_of[passage.doc_id]]
            first = int(index.sentence_start[pid])
            spans = passage_sentences(document.text, passage.start, passage.end)
            if len(spans) != int(index.sentence_start[pid + 1]) - first:
                raise ValueError(f"source {number}: passage {pid}'s sentences disagree with its stored vectors")
            for j, span in enumerate(spans):
                key = (passage.doc_id, span.start, span.end)
                text = document.text[span.start:span.end]
                if key in seen or not joinable(text):
                    continue
                seen.add(key)
                members.append(len(texts))
                texts.append(text)
                rows.append(offset + first + j)
        offset += len(blocks[-1])
    keep = [i for i, members in enumerate(by_article) if members]
    vocab: dict[str, int] = {}

    def ids(tokens: list[str]) -> np.ndarray:
        return np.array([vocab.setdefault(t, len(vocab)) for t in tokens], dtype=np.int32)

    sentence_tokens = [ids(tokens) for tokens in tokenizer.many(texts)]
    title_tokens = [ids(tokenizer(titles[i])) for i in keep]
    lengths = np.array([len(t) for t in sentence_tokens], dtype=np.int64)
    return SentencePool(
        texts=texts, rows=np.array(rows, dtype=np.int64), chars=np.array([len(t) for t in texts], np.float32),
        token_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        token_ids=np.concatenate(sentence_tokens).astype(np.int32) if texts else np.zeros(0, np.int32),
        vocab=list(vocab), titles=[titles[i] for i in keep], title_tokens=title_tokens,
        by_article=[np.array(by_article[i], dtype=np.int64) for i in keep],
        vectors=np.concatenate(blocks), eligible_articles=len(titles))


@dataclass
class Distractors:
    """Which sentences each distractor is made of."""

    article: np.ndarray  # int64: each distractor's article (a pool article)
    start: np.ndarray  # int64: distractor i is pool sentences sentence_ids[start[i]:start[i + 1]]
    sentence_ids: np.ndarray  # int64, into the pool

    def __len__(self) -> int:
        return len(self.article)

    def sentences(self, i: int) -> np.ndarray:
        return self.sentence_ids[self.start[i]:self.start[i + 1]]


def draw(pool: SentencePool, n: int, rng: np.random.Generator) -> Distractors:
    """n distractors: an article (in proportion to its sentences), then 2-6 of its sentences in order."""
    sizes = np.array([len(members) for members in pool.by_article], dtype=np.int64)
    articles = rng.choice(len(sizes), size=n, p=sizes / sizes.sum())
    low, high = SENTENCES_PER_DISTRACTOR
    counts = np.minimum(rng.integers(low, high + 1, size=n), sizes[articles])
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    chosen = np.empty(int(start[-1]), dtype=np.int64)
    for i, (article, count) in enumerate(zip(articles.tolist(), counts.tolist(), strict=True)):
        members = pool.by_article[article]
        picked = rng.choice(len(members), size=count, replace=False)
        picked.sort()
        chosen[start[i]:start[i + 1]] = members[picked]
    return Distractors(articles.astype(np.int64), start, chosen)


def synthetic_vectors(pool: SentencePool, distractors: Distractors, chunk: int = VECTOR_CHUNK) -> np.ndarray:
    """Each distractor's vector: its sentences' stored vectors, weighted by their length, summed, normalized."""
    n = len(distractors)
    out = np.empty((n, pool.vectors.shape[1]), dtype=np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo, hi = int(distractors.start[a]), int(distractors.start[b])
        ids = distractors.sentence_ids[lo:hi]
        weighted = pool.vectors[pool.rows[ids]].astype(np.float32) * pool.chars[ids, None]
        sums = np.add.reduceat(weighted, distractors.start[a:b] - lo, axis=0)
        out[a:b] = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return out


def mean_of_sentences(index: LoadedIndex, passage_id: int) -> np.ndarray:
    """The same synthetic vector for a real passage (to measure it against the stored one)."""
    passage = index.passages[passage_id]
    spans = passage_sentences(index.documents[passage.doc_id].text, passage.start, passage.end)
    weights = np.array([len(s) for s in spans], dtype=np.float32)
    mean = (index.sentences_of(passage_id).astype(np.float32) * weights[:, None]).sum(axis=0)
    return mean / np.linalg.norm(mean)


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions starts[0]..starts[0]+lengths[0]-1, then starts[1].., as one vector operation."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)


def term_counts(pool: SentencePool, distractors: Distractors, a: int, b: int) -> TermCounts:
    """BM25 term counts of distractors a..b-1: their title's tokens and their sentences' tokens (as an
    index build counts the tokens of "title\\ntext", bar the words jieba would join across a boundary)."""
    lo, hi = int(distractors.start[a]), int(distractors.start[b])
    ids = distractors.sentence_ids[lo:hi]
    per_sentence = np.repeat(np.arange(b - a, dtype=np.int64), np.diff(distractors.start[a:b + 1]))
    lengths = pool.token_start[ids + 1] - pool.token_start[ids]
    tokens = pool.token_ids[_gather(pool.token_start[ids], lengths)]
    rows = np.repeat(per_sentence, lengths)
    titles = [pool.title_tokens[article] for article in distractors.article[a:b].tolist()]
    title_lengths = np.array([len(t) for t in titles], dtype=np.int64)
    tokens = np.concatenate([tokens, *titles]).astype(np.int64)
    rows = np.concatenate([rows, np.repeat(np.arange(b - a, dtype=np.int64), title_lengths)])
    width = len(pool.vocab)
    keys, tf = np.unique(rows * width + tokens, return_counts=True)
    entry_rows, entry_cols = keys // width, keys % width
    order = np.lexsort((entry_rows, entry_cols))
    indptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_cols, minlength=width), out=indptr[1:])
    return TermCounts(pool.vocab, indptr, entry_rows[order].astype(np.int32), tf[order].astype(np.int32),
                      np.bincount(rows, minlength=b - a).astype(np.int64))


class DistractorTexts:
    """A distractor's document and passage, made when asked for (half a million would take GBs)."""

    def __init__(self, pool: SentencePool, distractors: Distractors) -> None:
        self.pool, self.distractors = pool, distractors

    def __len__(self) -> int:
        return len(self.distractors)

    def text(self, i: int) -> str:
        return "".join(self.pool.texts[j] for j in self.distractors.sentences(i).tolist())

    def document(self, i: int) -> Document:
        return Document(doc_id(i), self.pool.titles[int(self.distractors.article[i])], self.text(i), source=SOURCE)


def doc_id(i: int) -> str:
    return f"{DOC_PREFIX}{i:07d}"


class PlantedPassages(Sequence):
    """The base index's passages, then one passage per distractor (the whole of its document)."""

    def __init__(self, base: Sequence[Passage], made: DistractorTexts) -> None:
        self.base, self.made = base, made

    def __len__(self) -> int:
        return len(self.base) + len(self.made)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i) + (len(self) if i < 0 else 0)
        if i < len(self.base):
            return self.base[i]
        if i >= len(self):
            raise IndexError(i)
        text = self.made.text(i - len(self.base))
        return Passage(doc_id(i - len(self.base)), 0, 0, len(text), text)


class PlantedDocuments(Mapping):
    """The base index's documents, then the distractors' (made when asked for)."""

    def __init__(self, base: Mapping[str, Document], made: DistractorTexts) -> None:
        self.base, self.made = base, made
        if any(key.startswith(DOC_PREFIX) for key in base):
            raise ValueError(f"the base index has document ids starting with {DOC_PREFIX!r}")

    def __getitem__(self, key: str) -> Document:
        if key.startswith(DOC_PREFIX):
            number = key[len(DOC_PREFIX):]
            if number.isdigit() and int(number) < len(self.made):
                return self.made.document(int(number))
            raise KeyError(key)
        return self.base[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield from (doc_id(i) for i in range(len(self.made)))

    def __len__(self) -> int:
        return len(self.base) + len(self.made)


class SentenceRows:
    """The planted index's sentence vectors: rows of the sources' stored arrays, looked up when read
    (what LoadedIndex.sentence_vectors is asked for: `[rows]` and `[start:end]`)."""

    def __init__(self, vectors: np.ndarray, rows: np.ndarray) -> None:
        self.vectors, self.rows = vectors, rows

    @property
    def dtype(self) -> np.dtype:
        return self.vectors.dtype

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> np.ndarray:
        return self.vectors[self.rows[key]]


@dataclass
class Planted:
    index: LoadedIndex  # no dense index (None) until `with_dense` gives it one over `vectors`
    vectors: np.ndarray  # every passage's vector: the base's stored ones, then the distractors' synthetic ones
    distractors: Distractors
    seconds: dict[str, float]


def plant(base: LoadedIndex, pool: SentencePool, n: int, rng: np.random.Generator) -> Planted:
    """The base index (its passages, vectors, BM25 counts and sentence vectors untouched, the pool's
    first rows) with n distractors after its passages. The pool must have been made with the base
    as its first source, so the base's sentence rows are the pool's first rows."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    distractors = draw(pool, n, rng)
    seconds["draw"] = time.perf_counter() - started
    started = time.perf_counter()
    vectors = np.concatenate([base.dense.vectors(), synthetic_vectors(pool, distractors)])
    seconds["vectors"] = time.perf_counter() - started
    started = time.perf_counter()
    if base.lexical.n_passages != len(base.passages):
        raise ValueError("the base index's BM25 counts do not match its passages")
    parts = [term_counts(pool, distractors, a, min(n, a + PART_PASSAGES)) for a in range(0, n, PART_PASSAGES)]
    lexical = LexicalIndex([*base.lexical.parts, *parts])
    seconds["bm25"] = time.perf_counter() - started
    base_sentences = int(base.sentence_start[len(base.passages)])
    counts = np.diff(distractors.start)
    sentence_start = np.concatenate([np.asarray(base.sentence_start[:len(base.passages) + 1], dtype=np.int64),
                                     base_sentences + np.cumsum(counts)])
    rows = np.concatenate([np.arange(base_sentences, dtype=np.int64), pool.rows[distractors.sentence_ids]])
    made = DistractorTexts(pool, distractors)
    manifest = {**base.manifest, "counts": {"documents": len(base.documents) + n,
                                            "passages": len(base.passages) + n}, "planted_distractors": n}
    index = LoadedIndex(manifest, PlantedDocuments(base.documents, made), PlantedPassages(base.passages, made),
                        None, lexical, SentenceRows(pool.vectors, rows), sentence_start)
    return Planted(index, vectors, distractors, {k: round(v, 2) for k, v in seconds.items()})


def dense_index(vectors: np.ndarray, settings: Settings, exact: bool = False) -> DenseIndex:
    """The dense index an index of this many passages gets from the settings (as eval/bench/scale.py
    builds it), or an exact scan."""
    if exact:
        return DenseIndex.build(vectors, len(vectors) + 1, settings.hnsw_m)
    dense = DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search,
                             settings.hnsw_ef_construction, settings.hnsw_storage)
    dense.release_build_vectors()
    return dense


def with_dense(index: LoadedIndex, dense: DenseIndex) -> LoadedIndex:
    return replace(index, dense=dense)


def quality(searcher, questions: list[Question], query_vectors: np.ndarray) -> dict:
    """Hit@1 and Hit@5 of the whole pipeline (k=5, the reader off), the fused candidates' recall
    (a hit among all the fused candidates, and among the ones the ranker rescores), and the search
    p50 without the question's embedding; and each question's outcome, for the comparison."""
    passages = searcher.index.passages
    top = searcher.settings.rerank_candidates
    samples, outcomes = [], []
    for question, vector in zip(questions, query_vectors, strict=True):
        started = time.perf_counter()
        response = searcher.search(question.question, SHOWN, "hybrid", vector, read=False)
        samples.append((time.perf_counter() - started) * 1000)
        retrieved = searcher.retrieve(question.question, "hybrid", vector)
        fused = next((rank for rank, pid in enumerate(retrieved.passage_ids, start=1)
                      if is_hit(passages[pid].doc_id, passages[pid].text, question.gold_doc_ids, question.answers)),
                     None)
        hit = next((r.rank for r in response.results
                    if is_hit(r.doc_id, r.text, question.gold_doc_ids, question.answers)), None)
        first = response.results[0] if response.results else None
        outcomes.append({"hit_rank": hit, "fused_rank": fused, "candidates": len(retrieved.passage_ids),
                         "top_doc": first.doc_id if first else None,
                         "top_holds_answer": bool(first and contains_answer(first.text, question.answers))})
    count = max(len(outcomes), 1)
    return {"questions": len(outcomes),
            "hit@1": round(sum(o["hit_rank"] == 1 for o in outcomes) / count, 4),
            "hit@5": round(sum(o["hit_rank"] is not None for o in outcomes) / count, 4),
            "fused_recall": round(sum(o["fused_rank"] is not None for o in outcomes) / count, 4),
            f"fused_recall@{top}": round(sum(o["fused_rank"] is not None and o["fused_rank"] <= top
                                             for o in outcomes) / count, 4),
            "mean_candidates": round(float(np.mean([o["candidates"] for o in outcomes])) if outcomes else 0.0, 1),
            "search_p50_ms": percentiles(samples)["p50"] if samples else None,
            "outcomes": outcomes}


def compare(small: dict, large: dict) -> dict:
    """What the distractors changed, question by question: first hits lost and gained, and what took
    the first place of a lost one (a distractor, and whether its text holds an answer string; or
    another CMRC passage)."""
    lost = [(s, g) for s, g in zip(small["outcomes"], large["outcomes"], strict=True)
            if s["hit_rank"] == 1 and g["hit_rank"] != 1]
    gained = sum(s["hit_rank"] != 1 and g["hit_rank"] == 1 for s, g in zip(small["outcomes"], large["outcomes"],
                                                                            strict=True))
    by_distractor = [g for _, g in lost if (g["top_doc"] or "").startswith(DOC_PREFIX)]
    return {"hit@1_drop": round(small["hit@1"] - large["hit@1"], 4), "first_hits_lost": len(lost),
            "first_hits_gained": gained, "lost_to_a_distractor": len(by_distractor),
            "lost_to_a_distractor_holding_an_answer": sum(g["top_holds_answer"] for g in by_distractor),
            "lost_out_of_the_candidates": sum(g["fused_rank"] is None for _, g in lost)}


def embed_check(embedder, pool: SentencePool, planted: Planted, n_base: int, query_vectors: np.ndarray,
                count: int = EMBED_CHECK) -> dict:
    """Embed the first `count` distractors for real (as an index build would: title, newline, text)
    and compare: their passage vectors with the synthetic ones, their sentence vectors with the
    stored ones the pool lent them, and the questions' cosines with each (a positive shift: the
    synthetic distractors look closer to the questions than real ones would, so they are harder)."""
    count = min(count, len(planted.distractors))
    if count == 0:
        return {}
    made = DistractorTexts(pool, planted.distractors)
    documents = [made.document(i) for i in range(count)]
    contexts = [f"{d.title}\n{d.text}" for d in documents]
    spans = [[(s.start + len(d.title) + 1, s.end + len(d.title) + 1) for s in passage_sentences(d.text, 0, len(d.text))]
             for d in documents]
    started = time.perf_counter()
    vectors, sentence_vectors = embedder.embed_passages_and_spans(contexts, spans)
    seconds = time.perf_counter() - started
    passage_cos = np.sum(vectors * planted.vectors[n_base:n_base + count], axis=1)
    sentence_cos = np.concatenate([np.sum(real * pool.vectors[pool.rows[planted.distractors.sentences(i)]]
                                          .astype(np.float32), axis=1) for i, real in enumerate(sentence_vectors)])
    shift = query_vectors @ planted.vectors[n_base:n_base + count].T - query_vectors @ vectors.T
    return {"distractors": count, "embed_s": round(seconds, 2), "passages_per_s": round(count / seconds, 1),
            "passage_cosine": _spread(passage_cos), "sentence_cosine": _spread(sentence_cos),
            "question_cosine_shift": {"mean": round(float(shift.mean()), 4),
                                      "mean_abs": round(float(np.abs(shift).mean()), 4)}}


def _spread(values: np.ndarray) -> dict:
    return {"mean": round(float(np.mean(values)), 4), "p5": round(float(np.percentile(values, 5)), 4),
            "min": round(float(np.min(values)), 4)}


def reconstruction(index: LoadedIndex, sample: int = 500) -> dict:
    """How well the length-weighted mean of a real passage's stored sentence vectors gives back its
    stored passage vector (the approximation the distractors' vectors rely on), against the cosine of
    two random passages (this encoder's vectors all lie in a narrow cone)."""
    rng = np.random.default_rng(5)
    n = len(index.passages)
    ids = rng.choice(n, size=min(sample, n), replace=False)
    stored = index.dense.vectors_of(ids)
    mean = np.stack([mean_of_sentences(index, int(i)) for i in ids])
    other = index.dense.vectors_of(rng.choice(n, size=len(ids)))
    return {"passages": len(ids), "cosine": _spread(np.sum(stored * mean, axis=1)),
            "random_pair_cosine_mean": round(float(np.mean(np.sum(stored * other, axis=1))), 4)}


def bench_distractors(settings: Settings, embedder, small, sources: list[LoadedIndex], questions: list[Question],
                      sizes: tuple[int, ...], eligible: Callable[[str], bool], log, seed: int = 13) -> dict:
    """`small`: a Searcher over the base index (the reader off); `sources`: the indexes whose eligible
    articles lend the distractors their sentences, the base first."""
    from index.search import Searcher

    started = time.perf_counter()
    pool = sentence_pool(sources, eligible, ChineseTokenizer())
    pool_s = round(time.perf_counter() - started, 2)
    log(f"distractors: {len(pool.texts):,} sentences of {len(pool.titles):,} training articles; "
        f"embedding {len(questions)} held-out questions ...")
    query_vectors = embedder.embed_queries([q.question for q in questions])
    log("distractors: the small index ...")
    base_quality = quality(small, questions, query_vectors)
    results: dict = {
        "how": "synthetic passage vectors (length-weighted mean of the real stored sentence vectors); real text, "
               "tokens and sentence vectors, from training articles only; the reader off",
        "pool": {"sentences": len(pool.texts), "articles": len(pool.titles),
                 "eligible_articles": pool.eligible_articles, "seconds": pool_s,
                 "sentences_per_distractor": list(SENTENCES_PER_DISTRACTOR)},
        "reconstruction": reconstruction(small.index),
        "small": {"passages": len(small.index.passages), "dense_index": small.index.dense.kind, **base_quality},
        "hnsw_threshold": settings.hnsw_threshold, "sizes": {}}
    model = small.reranker.model
    for n in sizes:
        log(f"distractors: planting the {len(small.index.passages):,} CMRC passages among {n:,} distractors ...")
        started = time.perf_counter()
        planted = plant(small.index, pool, n, np.random.default_rng(seed))
        row: dict = {"distractors": n, "passages": len(planted.index.passages), "seconds": dict(planted.seconds)}
        row["embed_check"] = embed_check(embedder, pool, planted, len(small.index.passages), query_vectors)
        kinds = [("settings", False)] + ([("exact", True)] if len(planted.vectors) >= settings.hnsw_threshold else [])
        row["runs"] = {}
        for label, exact in kinds:
            log(f"distractors: {n:,}: building the {'exact' if exact else 'settings'} dense index ...")
            built = time.perf_counter()
            dense = dense_index(planted.vectors, settings, exact)
            build_s = round(time.perf_counter() - built, 2)
            searcher = Searcher(with_dense(planted.index, dense), embedder, settings, model, None)
            log(f"distractors: {n:,}, {dense.kind} dense index: {len(questions)} questions ...")
            large = quality(searcher, questions, query_vectors)
            row["runs"][label] = {"dense_index": dense.describe(), "dense_build_s": build_s, **large,
                                  "versus_small": compare(base_quality, large)}
            del searcher, dense
            gc.collect()
        row["seconds"]["total"] = round(time.perf_counter() - started, 1)
        row["rss_mb"] = _rss_mb()
        row["peak_rss_mb"] = _rss_mb("VmHWM")
        results["sizes"][str(n)] = row
        del planted
        gc.collect()
    return _without_outcomes(results)


def _without_outcomes(results: dict) -> dict:
    """The figures, without the per-question rows (kept only for the comparison)."""
    results["small"].pop("outcomes", None)
    for row in results["sizes"].values():
        for run in row["runs"].values():
            run.pop("outcomes", None)
    return results


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]]


def markdown_section(results: dict | None) -> list[str]:
    if not results:
        return []
    results = results.get("distractors", results)  # --only's file wraps the section
    small = results["small"]
    top = next(k for k in small if k.startswith("fused_recall@"))
    rows = [["small (the CMRC index)", f"{small['passages']:,}", small["dense_index"], small["hit@1"], small["hit@5"],
             small["fused_recall"], small[top], small["search_p50_ms"], "", ""]]
    for n, row in results["sizes"].items():
        for label, run in row["runs"].items():
            versus = run["versus_small"]
            rows.append([f"+ {int(n):,} distractors ({label})", f"{row['passages']:,}",
                         f"{run['dense_index']['type']} ({run['dense_index']['storage']})", run["hit@1"], run["hit@5"],
                         run["fused_recall"], run[top], run["search_p50_ms"], versus["hit@1_drop"],
                         f"{versus['first_hits_lost']} / {versus['lost_to_a_distractor']} / "
                         f"{versus['lost_to_a_distractor_holding_an_answer']} / "
                         f"{versus['lost_out_of_the_candidates']} / {versus['first_hits_gained']}"])
    pool, rebuilt = results["pool"], results["reconstruction"]
    lines = ["", "## Quality at scale: CMRC held-out questions among distractors", "",
             f"{small['questions']} held-out CMRC questions, whole pipeline in process (retrieve, fuse, rank, merge, "
             "evidence; the reader off, which does not change the passages returned), k=5. Recall: a hit among all "
             f"the fused candidates (about {small['mean_candidates']}) and among the {top.split('@')[1]} the ranker "
             "rescores. p50 in ms, without the question's embedding.", "",
             *_table(["index", "passages", "dense", "Hit@1", "Hit@5", "fused recall", f"recall@{top.split('@')[1]}",
                      "p50", "Hit@1 drop", "first hits lost / to a distractor / it holds an answer / gold out of "
                      "the candidates / first hits gained"], rows),
             "",
             f"Distractors: {pool['sentences']:,} whole sentences of {pool['articles']:,} training articles of CMRC "
             "and DRCD (never a held-out article), drawn "
             f"{pool['sentences_per_distractor'][0]}-{pool['sentences_per_distractor'][1]} at a time from one "
             "article in its order, each a one-passage document titled after that article. Text, BM25 tokens and "
             "sentence vectors are real; passage vectors are synthetic: the length-weighted mean of the sentences' "
             "stored vectors. On real CMRC passages that mean gives back the stored vector at cosine "
             f"{rebuilt['cosine']['mean']} (p5 {rebuilt['cosine']['p5']}; two random passages: "
             f"{rebuilt['random_pair_cosine_mean']})."]
    for n, row in results["sizes"].items():
        check = row.get("embed_check") or {}
        if check:
            lines.append(f"At {int(n):,}: {check['distractors']} distractors embedded for real: passage vector "
                         f"against the synthetic one, cosine {check['passage_cosine']['mean']} "
                         f"(p5 {check['passage_cosine']['p5']}); sentence vectors against the lent ones "
                         f"{check['sentence_cosine']['mean']} (p5 {check['sentence_cosine']['p5']}); a question's "
                         f"cosine with the synthetic vector minus with the real one: mean "
                         f"{check['question_cosine_shift']['mean']}, mean absolute "
                         f"{check['question_cosine_shift']['mean_abs']} (positive: the synthetic distractors are "
                         f"harder than real ones); {check['passages_per_s']} passages/s.")
        lines.append(f"At {int(n):,}: {row['seconds'].get('total')} s in all, searches included (s: draw "
                     f"{row['seconds']['draw']}, vectors {row['seconds']['vectors']}, BM25 {row['seconds']['bm25']}, "
                     + ", ".join(f"{label} dense build {run['dense_build_s']}" for label, run in row["runs"].items())
                     + f"); process RSS {row['rss_mb']} MB (peak {row['peak_rss_mb']} MB). Latencies are from a "
                     "shared machine: compare them within the run only.")
    lines.append("Embedding the distractors for real would take about 5 hours at 500k on this machine (29 "
                 "passages/s); they reuse the sentences of a few thousand articles, so they cover fewer distinct "
                 "topics than a real corpus of their size.")
    return lines
