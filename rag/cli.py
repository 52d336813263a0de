"""The `rag` command. Heavy imports happen inside subcommands so `rag --help` is instant."""

from __future__ import annotations

import argparse
import sys

from rag.errors import RagError


def _config(args):
    from rag.config import load_config

    return load_config(args.config)


def cmd_ingest(args) -> int:
    from rag.pipeline import ingest

    cfg = _config(args)
    report = ingest(cfg, corpus_path=args.path, rebuild=args.rebuild)
    from rag.report import format_ingest_report

    print(format_ingest_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Question answering over a folder of news articles, with checked citations.",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config (default: $RAG_CONFIG or built-in defaults)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index the corpus (incremental)")
    p.add_argument("path", nargs="?", help="corpus folder (default: corpus.path from the config)")
    p.add_argument("--rebuild", action="store_true", help="delete the index and build it again")
    p.set_defaults(func=cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rag.embedding import set_offline_env

    set_offline_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
