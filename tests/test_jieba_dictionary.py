"""jieba's dictionary loaded from the pickle in the models cache (rag/text.py): the same
words as jieba's own cache, a damaged pickle replaced, a read-only cache dir harmless.
Each case runs in a new process, as a cold `rag ask` does (jieba's tokenizer is global)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

TEXT = "台风卡努是今年第几号台风？北京市气象台发布暴雨橙色预警，Anthropic宣布与卢旺达政府合作。"
SCRIPT = f"""
import jieba
from rag.text import _load_pickled_dictionary, terms
loaded = _load_pickled_dictionary(jieba)
print(loaded, len(jieba.dt.FREQ) if loaded else 0)
print(" ".join(terms({TEXT!r})))
"""


def _run(models_dir) -> tuple[str, str]:
    env = {**os.environ, "RAG_MODELS_DIR": str(models_dir), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    return out[0], out[1]


def test_the_pickled_dictionary_cuts_as_jiebas_own_and_a_damaged_one_is_replaced(tmp_path):
    loaded, words = _run(tmp_path)  # nothing cached yet: jieba's own, then pickled
    assert loaded == "False 0"
    assert "台风" in words.split() and "预警" in words.split()
    (pickled,) = (tmp_path / "jieba").glob("dict-*.pickle")
    freq, total = pickle.loads(pickled.read_bytes())
    assert len(freq) > 300_000 and total > 0

    loaded_again, words_again = _run(tmp_path)
    assert loaded_again == f"True {len(freq)}"
    assert words_again == words

    pickled.write_bytes(b"\x80\x05 damaged")
    loaded_damaged, words_damaged = _run(tmp_path)
    assert loaded_damaged == "False 0" and words_damaged == words
    assert pickle.loads(pickled.read_bytes())[1] == total  # written again
    assert not list((tmp_path / "jieba").glob("*.tmp"))


def test_a_models_dir_that_cannot_be_written_still_cuts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    loaded, words = _run(blocker / "models")
    assert loaded == "False 0"
    assert "台风" in words.split()
