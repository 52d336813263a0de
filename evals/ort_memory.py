"""RSS of the e5-onnx document path with and without onnxruntime's arena shrinkage.

    python -m evals.ort_memory            # as ingest runs it (shrinkage + heap trim)
    python -m evals.ort_memory --no-shrink

Embeds 3,000 prefixes (5-300 characters) of one article of the archive folder, 500 at a
time, and prints RSS after loading and at the end (docs/benchmarks.md, "Memory and cold
start"). Run each mode in its own process: RSS is per process.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from rag.index.e5.runtime import E5OnnxEmbedder, release_freed_memory
from rag.index.e5.tokenizer import PASSAGE_PREFIX


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--article", default="../shared/news/news-00010.md")
    args = parser.parse_args()
    text = "".join(line.strip() for line in Path(args.article).read_text(encoding="utf-8").splitlines())
    rng = random.Random(0)
    texts = [text[: rng.randint(5, 300)] for _ in range(3000)]
    embedder = E5OnnxEmbedder()
    embedder._session(2)
    loaded = rss_mb()
    t0 = time.perf_counter()
    for i in range(0, len(texts), 500):
        embedder._embed(texts[i : i + 500], PASSAGE_PREFIX, 2, 32, shrink=not args.no_shrink)
        if not args.no_shrink:
            release_freed_memory()
    mode = "no shrink" if args.no_shrink else "shrink + trim"
    print(f"{mode}: RSS {loaded:.0f} MB loaded -> {rss_mb():.0f} MB after 3,000 texts, "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
