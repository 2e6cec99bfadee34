"""The words of a Chinese text, as the classifier and the duplicate search see them: jieba's search-engine cut
(a long word and the shorter words inside it), lower-cased, without punctuation, digits-only tokens, single
characters or the function words that every complaint shares.

jieba loads its dictionary once per process (about half a second, from the package's own files: nothing is
fetched at run time); ``warm_up`` does it at start-up rather than on the first request.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)

_lock = threading.Lock()
_ready = False

# Words too common in citizens' messages to tell one matter from another.
STOPWORDS = frozenset(
    """
    的 了 和 与 及 或 在 是 有 我 我们 你 你们 他 他们 她 它 这 那 这个 那个 这里 那里 这些 那些 一个 一些
    什么 怎么 怎么办 为什么 如何 哪里 请 请问 希望 要求 建议 反映 问题 情况 现在 目前 已经 还是 还有 没有
    不是 就是 但是 而且 因为 所以 如果 可以 能够 是否 能否 需要 进行 相关 部门 有关 政府 领导 群众 居民
    市民 大家 一直 经常 非常 特别 比较 严重 很多 多次 多年 每天 今天 昨天 最近 近期 长期 至今 仍然 依然
    帮忙 帮助 解决 处理 尽快 及时 给予 一下 为 被 把 让 给 对 向 从 到 就 都 也 又 还 很 太 再 才 只 等 等等
    着 过 吧 吗 呢 啊 呀 啦 哦 嗯 该 其 此 之 以 于 而 但 却 则 并 且 上 下 里 中 内 外 后 前 时 时候 时间
    号 日 月 年 个 次 位 家 们 不 没 能 会 要 想 说 看 去 来 做 让 使 由 将
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_KEEP = re.compile(r"[\w]+")
_DIGITS = re.compile(r"[\d_]+")


def warm_up() -> None:
    """Loads jieba's dictionary now (idempotent, thread-safe)."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            jieba.initialize()
            _ready = True


def _usable(token: str) -> bool:
    return (
        len(token) >= 2
        and token not in STOPWORDS
        and bool(_KEEP.fullmatch(token))
        and not (_DIGITS.fullmatch(token))
    )


def tokens(text: str) -> list[str]:
    """The text's words in order, with repeats (for weighting by frequency)."""
    warm_up()
    return [t for t in (w.strip().lower() for w in jieba.cut_for_search(text)) if _usable(t)]


def distinct(text: str) -> list[str]:
    """The text's words, each once, in order of first appearance."""
    return list(dict.fromkeys(tokens(text)))


def add_words(words: Iterable[str]) -> None:
    """Teaches jieba words it should keep whole (a jurisdiction's lexicon terms, place names)."""
    warm_up()
    for word in words:
        if len(word) >= 2:
            jieba.add_word(word)


# Bounds, in log(corpus size / count) of jieba's dictionary, between an everyday word ("一直", "有人": ~8) and a
# specific one ("井盖": 16; words outside the dictionary count as specific).
_EVERYDAY, _SPECIFIC = 7.0, 13.0


def specificity(word: str) -> float:
    """How little an everyday word this is, from 0.15 ("一直") to 1.0 ("井盖"), by its frequency in jieba's
    own dictionary: a word every text has says little about what one text is about."""
    warm_up()
    count = jieba.dt.FREQ.get(word, 0)
    rarity = math.log(jieba.dt.total / (count + 1))
    return min(1.0, max(0.15, (rarity - _EVERYDAY) / (_SPECIFIC - _EVERYDAY)))
