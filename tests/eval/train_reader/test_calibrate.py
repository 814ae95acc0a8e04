"""The reading calibration's fit: the reader's margin cut that, with the ranker's, flags 5%."""

from __future__ import annotations

import numpy as np

from eval.train_reader.calibrate import fit_calibration, margin_cut


def test_the_margin_cut_and_the_ranker_together_flag_the_share():
    rng = np.random.default_rng(0)
    n = 1000
    answerable = rng.uniform(0, 1, n)
    margins = rng.normal(4, 3, n)
    hit = np.ones(n, dtype=bool)
    cut = margin_cut(answerable, margins, hit, ranker_threshold=0.02, share=0.05)
    flagged = (answerable < 0.02) | (margins < cut)
    assert 0.04 <= flagged.mean() <= 0.05
    assert margin_cut(answerable, margins, hit, ranker_threshold=0.2, share=0.05) == -20.0  # the ranker flags more


def test_the_fit_reports_what_it_catches():
    rng = np.random.default_rng(1)
    rows = [(rng.uniform(0.3, 1), 0.5, rng.normal(4, 2), True, True, "asked") for _ in range(400)]
    rows += [(rng.uniform(0.3, 1), 0.5, rng.normal(-4, 1), False, False, "changed") for _ in range(50)]
    rows += [(rng.uniform(0.0, 0.1), 0.1, rng.normal(3, 2), False, False, "article missing") for _ in range(50)]
    fitted = fit_calibration(rows, ranker_threshold=0.2)
    assert fitted["fitted_on"]["answerable_flagged"] <= 0.05
    assert fitted["fitted_on"]["caught"]["changed"] > 0.9  # the reader catches these
    assert fitted["fitted_on"]["caught"]["article missing"] == 1.0  # the ranker these
    assert -20 < fitted["no_answer_margin"] < 4
