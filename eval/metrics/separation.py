"""How well the top score tells unanswerable questions from answerable ones.

The threshold is the score that 95% of answerable questions exceed (their 5th
percentile); the result is the share of unanswerable questions whose top score
falls below it. 1.0: a threshold there rejects every unanswerable question
while keeping 95% of answerable ones; 0.0: none.
"""

from collections.abc import Sequence

import numpy as np


def unanswerable_separation(answerable_top: Sequence[float], unanswerable_top: Sequence[float],
                            keep_answerable: float = 0.95) -> tuple[float, float]:
    """Return (share of unanswerable below the threshold, the threshold)."""
    if not answerable_top or not unanswerable_top:
        return float("nan"), float("nan")
    threshold = float(np.quantile(np.asarray(answerable_top, dtype=float), 1.0 - keep_answerable))
    below = sum(score < threshold for score in unanswerable_top)
    return below / len(unanswerable_top), threshold
