"""A deterministic synthetic corpus for benchmarks: articles in the corpus format made by
recombining sentences of the shipped articles with other entities, numbers and dates."""

from __future__ import annotations

import random
import re
from pathlib import Path

from rag.config import DEFAULT_CORPUS
from rag.index.corpus import load_corpus
from rag.text import sentence_spans

ORGS = ["Anthropic", "星海科技", "Nova AI", "青云智能", "DeepField", "北辰实验室", "Aurora Labs",
        "远航数据", "Helix Systems", "明川智算", "Quanta Works", "天衡研究院"]
PLACES = ["英国", "卢旺达", "美国", "冰岛", "肯尼亚", "新加坡", "智利", "挪威", "越南", "摩洛哥",
          "加拿大", "巴西", "印度尼西亚", "波兰", "新西兰", "埃及"]
TOPICS = ["教育", "医疗", "能源", "公共服务", "科研", "网络安全", "农业", "交通", "金融监管", "气候"]
HEADINGS = ["背景", "合作内容", "主要目标", "各方表态", "后续计划", "相关动态", "影响与意义"]
_PLACE = re.compile("|".join(["英国", "卢旺达", "美国", "冰岛"]))
_NUMBER = re.compile(r"\d+")


def _sentence_pool(corpus: Path = DEFAULT_CORPUS) -> list[str]:
    articles, _ = load_corpus(corpus, (".txt", ".md"), 10**7)
    pool = []
    for a in articles:
        for s, e in sentence_spans(a.body):
            text = a.body[s:e]
            if len(text) >= 20 and not text.startswith(("[[", "!")) and "翻译" not in text:
                pool.append(text.replace("**", ""))
    return pool


def _vary(sentence: str, rng: random.Random, org: str, place: str) -> str:
    sentence = sentence.replace("Anthropic", org)
    sentence = _PLACE.sub(lambda _: place if rng.random() < 0.7 else rng.choice(PLACES), sentence)
    return _NUMBER.sub(lambda m: str(rng.randint(2, 9) * 10 ** (len(m.group()) - 1)
                                     if len(m.group()) > 1 else rng.randint(1, 9)), sentence)


def article_text(i: int, rng: random.Random, pool: list[str]) -> str:
    org, place, topic = rng.choice(ORGS), rng.choice(PLACES), rng.choice(TOPICS)
    title = f"{org}与{place}在{topic}领域达成合作（第{i}号）"
    date = f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    lines = ["---", f"title: {title}", f"date: '{date}'",
             f"source_url: https://example.com/news/{i}", f"tags: [{topic}, {place}]", "---", "",
             f"# {title}", ""]
    for heading in rng.sample(HEADINGS, rng.randint(3, 5)):
        lines += [f"## {heading}", ""]
        for _ in range(rng.randint(2, 3)):
            sentences = [_vary(rng.choice(pool), rng, org, place) for _ in range(rng.randint(2, 4))]
            lines += ["".join(sentences), ""]
    return "\n".join(lines)


def write_corpus(folder: str | Path, n: int, seed: int = 7) -> Path:
    """Write `n` articles into `folder` (created); the same seed gives the same files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = _sentence_pool()
    for i in range(n):
        (folder / f"synth_{i:05d}.md").write_text(article_text(i, rng, pool), encoding="utf-8")
    return folder
