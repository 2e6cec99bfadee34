"""Scenario 6: the text classifier on the demo taxonomy and lexicon. No database and no server: the model is
pure Python.

Two labelled sets (top-level name, subcategory name, text):

* tests/data/classify_dev.tsv, 39 complaints the lexicon was written with in view: (a) names and the demo
  lexicon only, no examples; (b) leave-one-out: each text classified by a model that also learned from the
  other 38 as examples.
* tests/data/classify_eval.tsv, 351 complaints (9 per subcategory) written before looking at the lexicon, in
  two halves: the odd data lines are the *tuning* half (the lexicon and the model were improved looking at
  these), the even lines the *held-out* half (never looked at while tuning: the honest figure). Names and
  lexicon only, no examples: how a fresh jurisdiction, without any corrections yet, classifies.

* tests/data/classify_probe.tsv, 78 complaints (2 per subcategory) written after reading the lexicon, in
  roundabout words it did not have ("铁盖子", "臭鸡蛋味", "打牌赌钱"); the lexicon then grew with the general
  vocabulary they lacked, so this too is a tuning set, kept to show what such phrasing does.

For each: top-level top-1, subcategory top-1 and top-3, the share of texts whose best score is at least 0.6
(the default threshold for choosing a category without a person) and how often that best one is right.

Milliseconds per text of ``predict`` (each text's median of 20 runs, then p50, p95 and max over the texts),
over every dev and eval text and a 4,000-character text (the longest a case's description can be), on the
names-and-lexicon model and on a model that also learned all 390 texts as examples.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.demo import TAXONOMY
from services.demo_lexicon import demo_terms
from services.routing import words
from services.routing.classifier.model import CategoryFact, ExampleFact, Model, TermFact

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
DEV_SET = DATA / "classify_dev.tsv"
EVAL_SET = DATA / "classify_eval.tsv"
PROBE_SET = DATA / "classify_probe.tsv"
TIMING_ROUNDS = 20
THRESHOLD = 0.6
LONG_TEXT = 4000


@dataclass(frozen=True)
class Labelled:
    top: str  # top-level name
    sub: str  # subcategory name
    text: str


def dev_set(path: Path = DEV_SET) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Labelled(r["top"].strip(), r["sub"].strip(), r["text"].strip()) for r in rows]


def eval_set(path: Path = EVAL_SET) -> list[Labelled]:
    return dev_set(path)


def tuning_half(rows: list[Labelled]) -> list[Labelled]:
    """The odd data lines (1st, 3rd, ...): what the lexicon and the model were tuned on."""
    return rows[0::2]


def held_out_half(rows: list[Labelled]) -> list[Labelled]:
    """The even data lines (2nd, 4th, ...): never looked at while tuning."""
    return rows[1::2]


def demo_categories() -> list[CategoryFact]:
    """The demo taxonomy as services.demo loads it, with made-up ids in the same order."""
    facts: list[CategoryFact] = []
    for code, (name, _committee, _tier, subs) in TAXONOMY.items():
        top = CategoryFact(id=len(facts) + 1, code=code, name=name, parent_id=None)
        facts.append(top)
        for sub_code, sub_name, _ in subs:
            facts.append(CategoryFact(len(facts) + 1, f"{code}.{sub_code}", sub_name, top.id))
    return facts


def demo_lexicon(categories: list[CategoryFact]) -> list[TermFact]:
    ids = {c.code: c.id for c in categories}
    return [
        TermFact(ids[code], term, weight) for code, terms in demo_terms().items() for term, weight in terms
    ]


def demo_model(examples: list[ExampleFact] | None = None) -> Model:
    """The demo taxonomy and lexicon, with these examples (none: a fresh jurisdiction)."""
    categories = demo_categories()
    return Model.build(categories, demo_lexicon(categories), examples or [])


@dataclass
class Tally:
    n: int = 0
    top1_top: int = 0  # the best candidate's top level is right
    sub_top1: int = 0
    sub_top3: int = 0  # the right subcategory among the first three
    confident: int = 0  # the best candidate scores at least THRESHOLD
    confident_right: int = 0  # ... and is the right subcategory

    def add(self, model: Model, row: Labelled, names: dict[int, tuple[str, str]]) -> bool:
        """Counts the text; whether its best candidate is the right subcategory."""
        ranked = model.predict(row.text, limit=3)
        right = names[ranked[0].category_id] == (row.top, row.sub)
        self.n += 1
        self.top1_top += names[ranked[0].category_id][0] == row.top
        self.sub_top1 += right
        self.sub_top3 += any(names[c.category_id] == (row.top, row.sub) for c in ranked)
        if ranked[0].score >= THRESHOLD:
            self.confident += 1
            self.confident_right += right
        return right

    def figures(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "top_level_top1": round(self.top1_top / self.n, 3),
            "subcategory_top1": round(self.sub_top1 / self.n, 3),
            "subcategory_top3": round(self.sub_top3 / self.n, 3),
            # How the score works as a threshold: the share of texts at or above the default 0.6 and how
            # often their best candidate is the right subcategory.
            "share_score_at_least_0_6": round(self.confident / self.n, 3),
            "right_when_score_at_least_0_6": round(self.confident_right / self.confident, 3)
            if self.confident
            else None,
        }


def names_of(categories: list[CategoryFact]) -> dict[int, tuple[str, str]]:
    """Leaf id -> (top-level name, subcategory name)."""
    by_id = {c.id: c for c in categories}
    return {c.id: (by_id[c.parent_id].name, c.name) for c in categories if c.parent_id is not None}


def _examples(rows: list[Labelled], categories: list[CategoryFact]) -> list[ExampleFact]:
    ids = {names: id for id, names in names_of(categories).items()}
    return [ExampleFact(ids[(r.top, r.sub)], r.text) for r in rows]


def lexicon_only(rows: list[Labelled], model: Model | None = None) -> dict[str, Any]:
    """Names and the demo lexicon, no examples."""
    model = model or demo_model()
    names = names_of(demo_categories())
    tally = Tally()
    for row in rows:
        tally.add(model, row, names)
    return tally.figures()


def long_text(rows: list[Labelled], length: int = LONG_TEXT) -> str:
    """A long-winded complaint of exactly ``length`` characters: the texts one after another."""
    text = ""
    for row in rows:
        if len(text) >= length:
            break
        text += row.text
    return text[:length]


def timing(model: Model, texts: list[str]) -> dict[str, Any]:
    """Each text's median over TIMING_ROUNDS runs, so that a moment the shared machine gave the CPU to another
    process does not count as the model's time; then p50, p95 and max over the texts."""
    per_text: list[float] = []
    for text in texts:
        runs = []
        for _ in range(TIMING_ROUNDS):
            started = time.perf_counter()
            model.predict(text, limit=5)
            runs.append((time.perf_counter() - started) * 1000)
        per_text.append(statistics.median(runs))
    longest = per_text[-1]
    per_text.sort()
    return {
        "p50": round(statistics.median(per_text), 3),
        "p95": round(per_text[math.ceil(len(per_text) * 0.95) - 1], 3),
        "max": round(per_text[-1], 3),
        f"text_of_{LONG_TEXT}_chars": round(longest, 3),
        "texts": len(per_text),
        "runs_per_text": TIMING_ROUNDS,
    }


def evaluate(rows: list[Labelled] | None = None, eval_rows: list[Labelled] | None = None) -> dict[str, Any]:
    rows = rows if rows is not None else dev_set()
    eval_rows = eval_rows if eval_rows is not None else eval_set()
    categories = demo_categories()
    lexicon = demo_lexicon(categories)
    names = names_of(categories)
    words.warm_up()

    bare = Model.build(categories, lexicon, [])
    examples = _examples(rows, categories)
    leave_one_out = Tally()
    for i, row in enumerate(rows):
        model = Model.build(categories, lexicon, examples[:i] + examples[i + 1 :])
        leave_one_out.add(model, row, names)

    texts = [r.text for r in rows + eval_rows]
    texts.append(long_text(eval_rows))  # last: timing() reports it on its own
    full = Model.build(categories, lexicon, examples + _examples(eval_rows, categories))
    return {
        "lexicon_only": lexicon_only(rows, bare),
        "leave_one_out": leave_one_out.figures(),
        "eval_lexicon_only": {
            "tuning_half": lexicon_only(tuning_half(eval_rows), bare),
            "held_out_half": lexicon_only(held_out_half(eval_rows), bare),
            "full": lexicon_only(eval_rows, bare),
        },
        "probe_lexicon_only": lexicon_only(dev_set(PROBE_SET), bare),
        "ms_per_text": timing(full, texts),
        "ms_per_text_lexicon_only": timing(bare, texts),
        "model": full.facts(),
    }


def run() -> dict[str, Any]:
    return {"classifier": evaluate()}
