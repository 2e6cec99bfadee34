"""A jurisdiction's text classifier as plain data: built from what the jurisdiction knows (its categories'
names, the lexicon admins keep, the labelled examples dispatchers leave behind), applied to a text, and
kept as JSON in ``classifier_models.model``. Pure Python; nothing here touches the database.

How a text is scored. Evidence adds up per category (a top-level category is a *group* when it has active
children; every other active category is a *leaf*, and the leaves are the candidates):

* terms, from the names and the lexicon, found as substrings of the text, so a term counts even where jieba
  cuts the words differently. A match inside a longer match is dropped: "垃圾分类" speaks for sorting, not
  also for "垃圾". A term counts once however often it appears; longer terms say more than short ones, and a
  term says at least what a shorter term inside it says for the same category ("没信号" no less than "信号").
  The scan is linear: at each character, the longest term starting there (a set lookup per term length).
* characters: each category's characters, from its terms, as a weak hint for texts no term matches.
* examples: the text's jieba words as TF-IDF, compared with each category's most similar example (which
  counts only when close, so one correction of an odd text fixes that text) and with the centroid of its
  examples (which counts more as examples accumulate). Everyday words weigh little (``words.specificity``).
* the group: a leaf also gets a share of its group's evidence (the group's own terms and all its leaves'),
  so three weak hints about housing beat one hint about transport, and the subcategory is then chosen
  among housing's leaves.

The scores are a softmax over the leaves plus a "none of these" alternative with a fixed logit, so a text
without evidence leaves every leaf with a small score and waits for a person.

Only a text's first ``HEAD`` characters are classified (examples too, so that both are seen alike): a complaint
states its matter early, and a 4,000-character text then takes no longer than a 500-character one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.routing import words
from services.routing.classifier.schemas import Candidate

FORMAT = 2
# The characters of a text that are classified: its beginning, where a complaint states its matter (the
# arrival flow puts the title first). What follows is circumstances, history and other matters, and would
# cost time in proportion: jieba's cut takes most of it, about 2 ms for 500 characters.
HEAD = 500

# Weights of the terms taken from category names (a lexicon entry for the same term and category wins).
NAME_WHOLE = 2.0  # "市容环卫"
NAME_PART = 1.5  # "二次供水" from "电梯与二次供水"
NAME_WORD = 1.0  # jieba's words of the name: "市容", "环卫"
NAME_GENERIC = 0.3  # words every taxonomy uses and no complaint is about as such
_GENERIC = (
    "管理 服务 公共 安全 设施 问题 其他 综合 周边 质量 城市 环境 市场 监管 违法 建设 经营 工作 事项 农业"
    " 出行 线路 站点 小区 社区 道路"
)
GENERIC_NAME_WORDS = frozenset(_GENERIC.split())
SUBWORD_SHARE = 0.5
_SUBWORD_WINDOW = 6
_MATTERS = 0.1  # an example word contributing less is not shown among the words that decided
_HAN = re.compile(r"[\u4e00-\u9fff]")
_NAME_SPLIT = re.compile(r"[与和及、/,，·\s]+")


def _length_factor(term: str) -> float:
    """A longer term is a more specific one: "电梯" may be anywhere, "电梯困人" is about one thing."""
    return {1: 0.5, 2: 1.0, 3: 1.2}.get(len(term), 1.4)


@dataclass(frozen=True)
class Params:
    """The scoring constants, kept with each model so a stored model scores as it did when it was built."""

    group_share: float = 0.5  # of the group's evidence added to each of its leaves
    # Examples: the most similar one counts only above ``near_floor`` (a near-repeat, e.g. the text a
    # dispatcher corrected), up to ``near_weight``; the centroid counts up to ``centroid_weight`` times
    # n / (n + centroid_prior) for a category with n examples, so one example is a hint and fifty are a
    # description, and above ``centroid_floor`` only (sharing one everyday word is no evidence).
    near_weight: float = 8.0
    near_floor: float = 0.4
    centroid_weight: float = 6.0
    centroid_floor: float = 0.1
    centroid_prior: float = 3.0
    character_weight: float = 2.0
    temperature: float = 1.5  # multiplies every logit before the softmax
    none_logit: float = 1.5  # the "none of these" alternative
    max_matched: int = 6


@dataclass(frozen=True)
class CategoryFact:
    id: int
    code: str
    name: str
    parent_id: int | None
    active: bool = True


@dataclass(frozen=True)
class TermFact:
    category_id: int
    term: str
    weight: float


@dataclass(frozen=True)
class ExampleFact:
    category_id: int
    text: str


@dataclass(frozen=True)
class _Node:
    id: int
    code: str
    name: str
    parent: int  # index of the group, -1 for a top level
    leaf: bool


def normalize(text: str) -> str:
    """Full-width letters and digits as ASCII, lower case: how both terms and texts are compared."""
    return unicodedata.normalize("NFKC", text).lower()


def _weighted_tokens(text: str) -> dict[str, float]:
    """The text's words with counts, a word jieba also cut into shorter ones ("人行道": "人行", "行道")
    counting once: the shorter words, which jieba lists just before the long one, count half."""
    tokens = words.tokens(text)
    counts: dict[str, float] = defaultdict(float)
    for i, token in enumerate(tokens):
        inside = any(
            len(later) > len(token) and token in later for later in tokens[i + 1 : i + 1 + _SUBWORD_WINDOW]
        )
        counts[token] += SUBWORD_SHARE if inside else 1.0
    return counts


def _vector(counts: dict[str, float], idf: dict[str, float], unseen_idf: float) -> dict[str, float]:
    """Sublinear TF-IDF, L2-normalised. Words no example has weigh ``unseen_idf`` (times their specificity)
    in the norm, then are left out: a text sharing one word with an example, among ten it does not, is not
    like that example."""
    vector: dict[str, float] = {}
    norm = 0.0
    for token, n in counts.items():
        weight = (n if n < 1 else 1.0 + math.log(n)) * (
            idf[token] if token in idf else unseen_idf * words.specificity(token)
        )
        norm += weight * weight
        if token in idf:
            vector[token] = weight
    norm = math.sqrt(norm)
    return {t: v / norm for t, v in vector.items()} if norm else {}


def _above(similarity: float, floor: float) -> float:
    """0 at or below the floor, rising linearly to 1 for an identical text."""
    return max(0.0, (similarity - floor) / (1.0 - floor))


def _inherit(weights: dict[tuple[str, int], float]) -> None:
    """A term weighs at least what a shorter term inside it weighs for the same category: the longer match
    hides the shorter one, which must not cost that category ("没信号" says no less than "信号")."""
    by_term: dict[str, dict[int, float]] = defaultdict(dict)
    for (term, node), weight in weights.items():
        by_term[term][node] = weight
    for term in sorted(by_term, key=len):
        rows = by_term[term]
        for size in range(1, len(term)):
            for start in range(len(term) - size + 1):
                inner = by_term.get(term[start : start + size])
                if not inner:
                    continue
                for node, weight in inner.items():
                    if node in rows and weight > rows[node]:
                        rows[node] = weight
                        weights[(term, node)] = weight


def _name_terms(name: str) -> dict[str, float]:
    found: dict[str, float] = {}

    def put(term: str, weight: float) -> None:
        term = normalize(term).strip()
        if len(term) >= 2:
            found[term] = max(found.get(term, 0.0), weight)

    put(name, NAME_WHOLE)
    for part in _NAME_SPLIT.split(name):
        put(part, NAME_PART)
    for word in words.tokens(name):
        put(word, NAME_GENERIC if word in GENERIC_NAME_WORDS else NAME_WORD)
    return found


class Model:
    """A built classifier. ``predict`` is what a request runs; ``build``/``from_json`` make one."""

    def __init__(
        self,
        nodes: Sequence[_Node],
        terms: dict[str, list[tuple[int, float]]],
        idf: dict[str, float],
        examples: Sequence[tuple[int, dict[str, float]]],
        params: Params,
    ) -> None:
        self.nodes = list(nodes)
        self.terms = terms
        self.idf = idf
        self.examples = list(examples)
        self.params = params
        self.leaves = [i for i, n in enumerate(self.nodes) if n.leaf]
        self._children: dict[int, list[int]] = defaultdict(list)
        for i, n in enumerate(self.nodes):
            if n.parent >= 0:
                self._children[n.parent].append(i)
        # For the substring scan: the lengths of the terms starting with each character, longest first.
        lengths: dict[str, set[int]] = defaultdict(set)
        for term in terms:
            lengths[term[0]].add(len(term))
        self._lengths = {char: sorted(sizes, reverse=True) for char, sizes in lengths.items()}
        self._index_examples()
        self._index_characters()

    def _index_examples(self) -> None:
        """Inverted indexes of the example vectors and of each category's centroid."""
        # The IDF of a word no example has (document frequency 0), as in ``build``.
        self._unseen_idf = math.log(1 + len(self.examples)) + 1.0
        self._example_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._counts: dict[int, int] = defaultdict(int)
        sums: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for index, (node, vector) in enumerate(self.examples):
            self._counts[node] += 1
            for token, weight in vector.items():
                self._example_postings[token].append((index, weight))
                sums[node][token] += weight
        self._centroids: dict[int, dict[str, float]] = {}
        self._centroid_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for node, total in sums.items():
            norm = math.sqrt(sum(v * v for v in total.values()))
            centroid = {t: v / norm for t, v in total.items()}
            self._centroids[node] = centroid
            for token, weight in centroid.items():
                self._centroid_postings[token].append((node, weight))

    def _index_characters(self) -> None:
        """Each category's characters, from its terms and name, weighted by how few categories share them: a
        weak hint where no term matches ("狗便便" has no term, but "狗" and "便" lean towards sanitation)."""
        counts: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for term, rows in self.terms.items():
            chars = {c for c in term if _HAN.fullmatch(c)}
            for node, weight in rows:
                for char in chars:
                    counts[node][char] += weight
        frequency: dict[str, int] = defaultdict(int)
        for profile in counts.values():
            for char in profile:
                frequency[char] += 1
        self._char_idf = {c: math.log((1 + len(counts)) / (1 + n)) for c, n in frequency.items()}
        self._char_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for node, profile in counts.items():
            weighted = {c: v * self._char_idf[c] for c, v in profile.items()}
            norm = math.sqrt(sum(v * v for v in weighted.values()))
            for char, value in weighted.items():
                if norm and value:
                    self._char_postings[char].append((node, value / norm))

    # --- building ------------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        categories: Iterable[CategoryFact],
        terms: Iterable[TermFact],
        examples: Iterable[ExampleFact],
        params: Params | None = None,
    ) -> Model:
        """Inactive categories, and the children of inactive top levels, are left out with their terms and
        examples. A top level whose children are all inactive is itself a leaf."""
        rows = sorted(categories, key=lambda c: c.id)
        by_id = {c.id: c for c in rows}

        def usable(c: CategoryFact) -> bool:
            if not c.active:
                return False
            parent = by_id.get(c.parent_id) if c.parent_id is not None else None
            return c.parent_id is None or (parent is not None and parent.active)

        kept = [c for c in rows if usable(c)]
        groups = {c.parent_id for c in kept if c.parent_id is not None}
        index = {c.id: i for i, c in enumerate(kept)}
        nodes = [
            _Node(
                id=c.id,
                code=c.code,
                name=c.name,
                parent=index[c.parent_id] if c.parent_id is not None else -1,
                leaf=c.id not in groups,
            )
            for c in kept
        ]

        weights: dict[tuple[str, int], float] = {}
        for c in kept:
            for term, weight in _name_terms(c.name).items():
                weights[(term, index[c.id])] = weight * _length_factor(term)
        for t in terms:
            term = normalize(t.term).strip()
            if t.category_id in index and term:
                # The admin's weight replaces a name-derived one.
                weights[(term, index[t.category_id])] = t.weight * _length_factor(term)
        _inherit(weights)
        term_table: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for (term, node), weight in sorted(weights.items()):
            term_table[term].append((node, round(weight, 4)))

        labelled = [
            (index[e.category_id], _weighted_tokens(normalize(e.text[:HEAD])))
            for e in examples
            if e.category_id in index
        ]
        document_frequency: dict[str, int] = defaultdict(int)
        for _, tokens in labelled:
            for token in tokens:
                document_frequency[token] += 1
        total = len(labelled)
        # Rare among the examples and not an everyday word: what makes two texts about the same thing.
        idf = {
            t: round((math.log((1 + total) / (1 + df)) + 1.0) * words.specificity(t), 4)
            for t, df in document_frequency.items()
        }
        vectors = [(node, _vector(tokens, idf, 0.0)) for node, tokens in labelled]
        return cls(nodes, dict(term_table), idf, [(n, v) for n, v in vectors if v], params or Params())

    # --- scoring -------------------------------------------------------------------------------------------

    def _character_evidence(self, text: str) -> dict[int, float]:
        chars = {c for c in text if c in self._char_idf}
        norm = math.sqrt(sum(self._char_idf[c] ** 2 for c in chars))
        evidence: dict[int, float] = defaultdict(float)
        if not norm:
            return evidence
        for char in chars:
            weight = self._char_idf[char] / norm
            for node, value in self._char_postings.get(char, ()):
                evidence[node] += self.params.character_weight * weight * value
        return evidence

    def _term_matches(self, text: str) -> list[str]:
        """The terms found in the text, without those lying inside a longer match."""
        kept: list[str] = []
        reach = -1  # the end of the longest match started so far
        terms, lengths, length = self.terms, self._lengths, len(text)
        for start, char in enumerate(text):
            for size in lengths.get(char, ()):
                end = start + size
                if end > length:
                    continue
                if end <= reach:
                    break  # this and any shorter one lie inside an earlier, longer match
                term = text[start:end]
                if term in terms:
                    reach = end
                    kept.append(term)
                    break  # the longest match at this start
        return list(dict.fromkeys(kept))

    def _example_evidence(self, vector: dict[str, float]) -> dict[int, float]:
        nearest: dict[int, float] = {}
        dots: dict[int, float] = defaultdict(float)
        for token, weight in vector.items():
            for example, value in self._example_postings.get(token, ()):
                dots[example] += weight * value
        for example, dot in dots.items():
            node = self.examples[example][0]
            nearest[node] = max(nearest.get(node, 0.0), dot)
        centroid: dict[int, float] = defaultdict(float)
        for token, weight in vector.items():
            for node, value in self._centroid_postings.get(token, ()):
                centroid[node] += weight * value
        p = self.params
        evidence: dict[int, float] = defaultdict(float)
        for node, similarity in nearest.items():
            evidence[node] += p.near_weight * _above(similarity, p.near_floor)
        for node, similarity in centroid.items():
            support = self._counts[node] / (self._counts[node] + p.centroid_prior)
            evidence[node] += p.centroid_weight * support * _above(similarity, p.centroid_floor)
        return evidence

    def predict(self, text: str, limit: int | None = None) -> list[Candidate]:
        """The leaves, best first (``limit`` of them), each with its score and the words that decided it."""
        if not self.leaves:
            return []
        text = normalize(text[:HEAD])
        evidence = [0.0] * len(self.nodes)
        reasons: dict[int, dict[str, float]] = defaultdict(dict)
        for term in self._term_matches(text):
            for node, weight in self.terms[term]:
                evidence[node] += weight
                reasons[node][term] = weight
        vector = _vector(_weighted_tokens(text), self.idf, self._unseen_idf) if self.idf else {}
        for node, value in self._example_evidence(vector).items():
            evidence[node] += value
        for node, value in self._character_evidence(text).items():
            evidence[node] += value

        group_total = list(evidence)
        for group, children in self._children.items():
            group_total[group] += sum(evidence[c] for c in children)
        share = self.params.group_share
        logits = {}
        for leaf in self.leaves:
            group = self.nodes[leaf].parent
            logits[leaf] = evidence[leaf] + share * group_total[group if group >= 0 else leaf]

        temperature = self.params.temperature
        top = max(max(logits.values()), self.params.none_logit)
        exps = {leaf: math.exp(temperature * (logit - top)) for leaf, logit in logits.items()}
        denominator = sum(exps.values()) + math.exp(temperature * (self.params.none_logit - top))
        ranked = sorted(self.leaves, key=lambda leaf: (-logits[leaf], self.nodes[leaf].id))
        if limit is not None:
            ranked = ranked[:limit]
        return [
            Candidate(
                category_id=self.nodes[leaf].id,
                category_code=self.nodes[leaf].code,
                name=self.nodes[leaf].name,
                score=round(exps[leaf] / denominator, 4),
                matched=self._matched(leaf, reasons, vector),
            )
            for leaf in ranked
        ]

    def _matched(
        self, leaf: int, reasons: dict[int, dict[str, float]], vector: dict[str, float]
    ) -> list[str]:
        """The leaf's own terms, then its group's, then the words it shares with its examples; by weight."""
        weighted: dict[str, float] = {}
        group = self.nodes[leaf].parent
        for node, factor in ((leaf, 1.0), (group, self.params.group_share)):
            for term, weight in reasons.get(node, {}).items():
                weighted[term] = max(weighted.get(term, 0.0), weight * factor)
        centroid = self._centroids.get(leaf, {})
        for token, weight in vector.items():
            contribution = self.params.centroid_weight * weight * centroid.get(token, 0.0)
            if contribution >= _MATTERS:
                weighted[token] = max(weighted.get(token, 0.0), contribution)
        best = sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))
        return [term for term, _ in best[: self.params.max_matched]]

    # --- storage -------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "params": vars(self.params),
            "nodes": [[n.id, n.code, n.name, n.parent, n.leaf] for n in self.nodes],
            "terms": {term: [[node, weight] for node, weight in rows] for term, rows in self.terms.items()},
            "idf": self.idf,
            "examples": [[node, vector] for node, vector in self.examples],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown classifier model format {data.get('format')!r}")
        return cls(
            nodes=[_Node(int(i), str(c), str(n), int(p), bool(leaf)) for i, c, n, p, leaf in data["nodes"]],
            terms={
                str(term): [(int(node), float(weight)) for node, weight in rows]
                for term, rows in data["terms"].items()
            },
            idf={str(t): float(v) for t, v in data["idf"].items()},
            examples=[
                (int(node), {str(t): float(v) for t, v in vector.items()})
                for node, vector in data["examples"]
            ],
            params=Params(**data["params"]),
        )

    def facts(self) -> dict[str, int]:
        return {
            "categories": len(self.nodes),
            "leaves": len(self.leaves),
            "terms": len(self.terms),
            "examples": len(self.examples),
        }
