"""jieba's dictionaries from the pickles in the models cache (rag/jieba_dictionary.py): the
same words and tags as jieba's own, a damaged pickle replaced, a models dir that cannot be
written harmless. The cache cases run in new processes, as a cold `rag ask` does (jieba's
tokenizer is global)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from rag.text import script_runs, tagged_words

TEXT = "台风卡努是今年第几号台风？北京市气象台发布暴雨橙色预警，Anthropic宣布与卢旺达政府合作。"
SCRIPT = f"""
import jieba
from rag.text import _jieba, tagged_words
from rag import jieba_dictionary
pickled = {{p.name.split("-")[0] for p in (jieba_dictionary._pickle_path(jieba, "dict").parent).glob("*.pickle")}}
_jieba()
print(sorted(pickled))
print(" ".join(w + "/" + t for w, t in tagged_words({TEXT!r})))
"""


def _run(models_dir) -> tuple[str, str]:
    env = {**os.environ, "RAG_MODELS_DIR": str(models_dir), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    return out[0], out[1]


def test_the_pickles_cut_and_tag_as_jiebas_own_and_a_damaged_one_is_made_again(tmp_path):
    found, words = _run(tmp_path)  # nothing cached yet: jieba's own, then pickled
    assert found == "[]"
    assert "台风/ns" in words.split() and "预警/vn" in words.split()
    folder = tmp_path / "jieba"
    (dictionary,) = folder.glob("dict-*.pickle")
    (tags,) = folder.glob("tags-*.pickle")
    freq, total = pickle.loads(dictionary.read_bytes())
    assert len(freq) > 300_000 and total > 0 and len(pickle.loads(tags.read_bytes())) > 300_000

    made = {p: p.stat().st_mtime_ns for p in (dictionary, tags)}
    assert _run(tmp_path) == ("['dict', 'tags']", words)  # read from the pickles: the same
    assert {p: p.stat().st_mtime_ns for p in (dictionary, tags)} == made  # read, not made again

    dictionary.write_bytes(b"\x80\x05 damaged")
    tags.write_bytes(b"")
    assert _run(tmp_path)[1] == words
    assert pickle.loads(dictionary.read_bytes())[1] == total  # made again
    assert pickle.loads(tags.read_bytes())["台风"] == "ns"
    assert not list(folder.glob("*.tmp"))


def test_a_pickle_another_user_could_have_written_is_not_loaded(tmp_path):
    _run(tmp_path)
    (dictionary,) = (tmp_path / "jieba").glob("dict-*.pickle")
    if os.getuid() != 0:  # only root can give a file away; others test the permission only
        assert oct(dictionary.stat().st_mode & 0o777) == "0o644"
        return
    os.chown(dictionary, 65534, 65534)
    found, words = _run(tmp_path)
    assert "台风/ns" in words.split()
    assert dictionary.stat().st_uid == os.getuid()  # replaced by this user's own


def test_a_models_dir_that_cannot_be_written_still_cuts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found, words = _run(blocker / "models")
    assert found == "[]" and "台风/ns" in words.split()


def test_tagged_words_are_what_jieba_posseg_gives():
    import jieba.posseg as posseg

    corpus = Path(__file__).resolve().parents[1] / "rag" / "shipped_corpus"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))) + TEXT
    runs = [run for chinese, run in script_runs(text) if chinese]
    assert len(runs) > 100
    for run in runs:
        assert tagged_words(run) == [(p.word, p.flag) for p in posseg.lcut(run, HMM=False)], run
