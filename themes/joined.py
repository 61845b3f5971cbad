"""Long messages made by joining short labelled ones, for training and for measuring.

Residents often write one long, rambling message about several things, with a worry buried
in the middle; the training files are mostly short. A bag-of-words classifier trained only on
short messages learns weights for short bags: in a long message the words about one theme are
a small part of the bag and the calm words around a risk message pull its score down. Joining
labelled messages gives long ones whose gold labels are known (the union of the parts'), so
the classifier can be trained on them (`BuildSettings.long_examples`) and measured on them
(`themes.experiments.cross_validate`, from held-out messages only).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from themes.labelled import LabelledMessage

# How parts are joined: as residents run one topic into the next.
JOINERS = (" ", "\n", " and ", ". ", ", ", " also ", "... ", " anyway ", " oh and ")


def joined_messages(
    messages: Sequence[LabelledMessage],
    count: int,
    seed: int,
    *,
    parts: tuple[int, int] = (2, 5),
    risk_share: float = 0.35,
    prefix: str = "joined",
) -> list[LabelledMessage]:
    """`count` long messages, each `parts` (inclusive range) calm messages joined, with one
    risk message inserted at a random place in `risk_share` of them.

    Calm parts are drawn from the messages without a safeguarding category (near misses
    included), risk parts from those with one; the gold labels are the union of the parts'.
    Deterministic for a given seed.
    """
    calm = [m for m in messages if not m.safeguarding and m.text.strip()]
    risky = [m for m in messages if m.safeguarding and m.text.strip()]
    if not calm:
        return []
    rng = random.Random(seed)
    made: list[LabelledMessage] = []
    for number in range(count):
        chosen = [rng.choice(calm) for _ in range(rng.randint(*parts))]
        if risky and rng.random() < risk_share:
            chosen.insert(rng.randint(0, len(chosen)), rng.choice(risky))
        text = chosen[0].text.strip()
        for part in chosen[1:]:
            text += rng.choice(JOINERS) + part.text.strip()
        made.append(
            LabelledMessage(
                id=f"{prefix}{number:05d}",
                text=text,
                themes=tuple(dict.fromkeys(t for m in chosen for t in m.themes)),
                signals=tuple(dict.fromkeys(s for m in chosen for s in m.signals)),
                safeguarding=next((m.safeguarding for m in chosen if m.safeguarding), None),
            )
        )
    return made
