"""Optional LLM judge (RAGAS-style), used only when asked for and an LLM is configured:
fact recall = share of the reference facts the answer states; faithfulness = share of
the answer's claims that the cited passages support. The prompt is in Chinese."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rag.errors import GenerationError

JUDGE_PROMPT = """你是严格的评测员。请根据下面的材料评估一个问答系统的回答。

问题：{question}

参考事实（回答应当包含的要点）：
{facts}

系统回答：
{answer}

回答所引用的资料原文：
{passages}

请完成两项判断：
1. 对每一条参考事实，判断系统回答是否表达了该事实（意思相同即可，不要求字面一致）。
2. 把系统回答拆成独立的陈述，逐条判断该陈述是否能由“引用的资料原文”直接支持。

只输出一个 JSON 对象，不要输出其他文字，格式如下：
{{"facts": [true, false], "claims": [{{"claim": "陈述", "supported": true}}]}}"""


@dataclass(frozen=True)
class Judgement:
    fact_recall: float | None
    faithfulness: float | None


def judge_prompt(question: str, facts, answer: str, quotes: list[str]) -> str:
    fact_lines = "\n".join(f"{i}. {' / '.join(f)}" for i, f in enumerate(facts, 1)) or "（无）"
    passages = "\n".join(f"[{i}] {q}" for i, q in enumerate(quotes, 1)) or "（无引用）"
    return JUDGE_PROMPT.format(question=question, facts=fact_lines, answer=answer, passages=passages)


def parse_judgement(raw: str, n_facts: int) -> Judgement:
    match = re.search(r"\{.*\}", raw, re.S)
    if not match:
        raise GenerationError(f"the judge did not return JSON: {raw[:200]!r}")
    try:
        data = json.loads(match.group())
    except ValueError as exc:
        raise GenerationError(f"the judge returned malformed JSON: {exc}") from exc
    facts = [bool(v) for v in data.get("facts", [])][:n_facts]
    claims = [c for c in data.get("claims", []) if isinstance(c, dict)]
    return Judgement(
        fact_recall=sum(facts) / n_facts if n_facts and len(facts) == n_facts else None,
        faithfulness=sum(bool(c.get("supported")) for c in claims) / len(claims) if claims else None,
    )


class LLMJudge:
    def __init__(self, chat_model):
        self.model = chat_model

    def judge(self, question: str, facts, answer) -> Judgement:
        quotes = [c.quote for c in answer.citations]
        prompt = judge_prompt(question, facts, answer.text, quotes)
        try:
            reply = self.model.invoke([("human", prompt)])
        except Exception as exc:  # provider errors of every kind
            raise GenerationError(f"the judge model failed: {exc}") from exc
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        return parse_judgement(content, len(facts))
