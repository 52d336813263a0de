"""`python -m tests.slow_server CONFIG PORT`: the real app and the real `launch()` (signal
handling, request guard) over a pipeline whose answerer is a scripted chat model that streams
slowly (0.1 s a character), so a test can signal the server while answers are in flight."""

from __future__ import annotations

import dataclasses
import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.config import load_config
from rag.pipeline import build_pipeline
from tests.fakes import HashEmbedder
from ui.app import build_app
from ui.server import launch

REPLY = "卢旺达信息通信技术（ICT）与创新部长Paula Ingabire表示，与Anthropic的合作是卢旺达AI发展历程中的一个重要里程碑[1]。"


def main(config: str, port: int) -> int:
    cfg = load_config(config)
    cfg = cfg.replace(answer=dataclasses.replace(cfg.answer, answerer="openai"),
                      llm=dataclasses.replace(cfg.llm, model="scripted"))
    model = FakeListChatModel(responses=[REPLY] * 100, sleep=0.1)
    pipeline = build_pipeline(cfg, embedder=HashEmbedder(name=cfg.embedding.model, unk=0.58), chat_model=model)
    app = build_app(pipeline, cfg)
    print(f"serving on http://127.0.0.1:{port}", flush=True)
    launch(app, cfg, "127.0.0.1", port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
