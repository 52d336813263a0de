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
    cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "answer": {"reader": "off"}})
    result = run_squad_eval(cfg, path)
    assert result["questions"] == 3 and result["paragraphs"] == 2 and result["unanswerable"] == 1
    assert result["contains_gold"] == 1.0 and result["gold_article_cited"] == 1.0
    assert result["unanswerable_abstained"] == 1.0 and result["false_abstention"] == 0.0
    assert result["em"] == 0.0  # the reader is off: no short answers to match
    assert (tmp_path / "data" / "squad").is_dir()
    with pytest.raises(ConfigError, match="--fold"):
        run_squad_eval(cfg, tmp_path)


def test_the_readers_abstention_margin_is_chosen_at_three_times_the_cost_of_a_wrong_answer():
    from evals.reader_gate_fit import choose, outcomes

    def row(impossible, margin, em=0.0, abstained=False):
        return {"impossible": impossible, "margin": margin, "em": em, "f1": em, "abstained": abstained}

    rows = ([row(False, m, 1.0) for m in (2.0, 1.5, 1.0, 0.5)] + [row(False, -0.5, 0.0)]
            + [row(True, m) for m in (-1.0, -0.8, 0.2)] + [row(True, None, abstained=True)])
    # withdrawing every answer under 0.35 catches the 3 answered unanswerables (9 saved) and
    # loses one answerable (cost 1)
    best = choose(rows)
    assert 0.2 < best["threshold"] < 0.5 and best["cost"] == 1.0 and best["false_abstention"] == 0.2
    never = outcomes(rows, -1e9)
    assert never["cost"] == 9.0 and never["false_abstention"] == 0.0 and never["unanswerable_abstained"] == 0.25
    assert outcomes(rows, -0.65)["cost"] == 3.0  # the unanswerable at 0.2 still answered
    assert outcomes(rows, 1.2)["cost"] == 3.0 and outcomes(rows, 1.2)["em"] == 0.4  # two answerable lost
