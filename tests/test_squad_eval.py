"""`rag eval --squad`: a SQuAD-format file becomes a corpus and every question goes
through answer() (real model, real Chroma on disk)."""

import json

import pytest

from evals.squad_rag import run_squad_eval
from rag.config import config_from_dict
from rag.errors import ConfigError

pytestmark = pytest.mark.slow


def test_a_squad_file_is_asked_of_its_own_paragraphs(tmp_path):
    paragraphs = [
        {"context": "台风卡努是今年第6号台风，8月10日上午在韩国庆尚南道登陆，登陆时中心附近最大风力有10级。",
         "qas": [{"id": "q1", "question": "台风卡努在哪里登陆？",
                  "answers": [{"text": "韩国", "answer_start": 21}]}]},
        {"context": "上海证券交易所周一收盘，沪指上涨1.2%，成交额超过4000亿元，新能源板块领涨。",
         "qas": [{"id": "q2", "question": "沪指周一上涨了多少？", "answers": [{"text": "1.2%", "answer_start": 16}]},
                 {"id": "q3", "question": "火星探测器什么时候发射？", "answers": [], "is_impossible": True}]},
    ]
    path = tmp_path / "mini.json"
    path.write_text(json.dumps({"data": [{"title": "mini", "paragraphs": paragraphs}]}, ensure_ascii=False))
    cfg = config_from_dict({"data_dir": str(tmp_path / "data")})
    result = run_squad_eval(cfg, path)
    assert result["questions"] == 3 and result["paragraphs"] == 2 and result["unanswerable"] == 1
    assert result["contains_gold"] == 1.0 and result["gold_article_cited"] == 1.0
    assert result["unanswerable_abstained"] == 1.0 and result["false_abstention"] == 0.0
    assert result["em"] == 0.0  # the reader is off: no short answers to match
    assert (tmp_path / "data" / "squad").is_dir()
    with pytest.raises(ConfigError, match="--fold"):
        run_squad_eval(cfg, tmp_path)
