"""The `rag` command. Heavy imports happen inside subcommands so `rag --help` is instant."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import NoReturn

from rag.errors import ConfigError, IndexBusyError, RagError

EXIT_BUSY = 75  # EX_TEMPFAIL: another process holds the index; try again later


def _config(args):
    from rag.config import load_config

    return load_config(args.config)


def cmd_ingest(args) -> int:
    from rag.pipeline import ingest

    cfg = _config(args)
    report = ingest(cfg, corpus_path=args.path, rebuild=args.rebuild, progress=args.progress,
                    allow_empty=args.allow_empty, prune=args.prune)
    from rag.index.ingest_report import format_ingest_report

    print(format_ingest_report(report))
    return 0


def _filters(args):
    from rag.pipeline import make_filter

    return make_filter(args.article or None, args.date_from, args.date_to)


def _print_answer(answer, text: bool = True) -> None:
    from rag.index.catalog import field_label

    if text:
        print(answer.text)
    if answer.citations:
        print()
        for c in answer.citations:
            print(f"[{c.marker}] {c.title} ({c.date or 'no date'}) {c.url or ''}")
            label = field_label(c.field)  # front-matter text: title, summary, date
            print(f"    {label + ': ' if label else ''}「{c.quote}」")
    if answer.unsupported:
        print("\nnot supported by the cited passages:", *answer.unsupported, sep="\n  ")


def _streamed_answer(parts):
    """Print the answer's pieces as they arrive, then its citations. A model's text is
    checked only when complete: if the check changed it, the checked text follows."""
    from rag.types import Answer

    shown: list[str] = []
    for part in parts:
        if isinstance(part, Answer):
            print()
            if "".join(shown).strip() != part.text.strip():
                print("\nchecked against the passages:")
                _print_answer(part)
            else:
                _print_answer(part, text=False)
            return part
        shown.append(part)
        print(part, end="", flush=True)
    raise AssertionError("the pipeline ended without an Answer")


def cmd_ask(args) -> int:
    from rag.index.index_layout import IndexPaths
    from rag.pipeline import build_pipeline

    cfg = _config(args)
    question = sys.stdin.read() if args.question == "-" else args.question
    # without an index, `rag ask` builds one first: then it exits as every writer does
    args.fast_exit = IndexPaths.of(cfg.data_dir).lexical_meta.exists()
    pipeline = build_pipeline(cfg, ensure_index=True)
    if args.json:
        answer = pipeline.answer(question, None, _filters(args), args.page)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    elif _stream_wanted(args):
        _streamed_answer(pipeline.stream(question, None, _filters(args), args.page))
    else:
        _print_answer(pipeline.answer(question, None, _filters(args), args.page))
    return 0


def _page_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a page is a whole number from 1, got {text!r}")
    return int(text)


def _stream_wanted(args) -> bool:
    return sys.stdout.isatty() if args.stream is None else args.stream


def cmd_chat(args) -> int:
    from rag.pipeline import build_pipeline, fit_history

    cfg = _config(args)
    pipeline = build_pipeline(cfg, ensure_index=True)
    history: list[dict] = []
    print("Ask about the articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        try:
            if _stream_wanted(args):
                answer = _streamed_answer(pipeline.stream(question, fit_history(history, cfg.answer)))
            else:
                answer = pipeline.answer(question, fit_history(history, cfg.answer))
                _print_answer(answer)
        except RagError as exc:  # a bad question should not end the conversation
            print(f"error: {exc}")
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def cmd_eval(args) -> int:
    from pathlib import Path

    from evals.report import print_table, write_reports
    from evals.suite import default_report_dir, run_eval

    cfg = _config(args)
    if args.from_feedback:
        from evals.feedback import drafts_from_feedback

        out = Path(args.out or default_report_dir(cfg)) / "feedback_drafts.yaml"
        n = drafts_from_feedback(args.from_feedback, out)
        print(f"wrote {n} draft eval items to {out}: review them, add facts, then merge into your set")
        return 0
    judge = None
    if args.judge:
        from evals.judge import LLMJudge
        from rag.answering.answerers import make_chat_model
        from rag.errors import ConfigError
        from rag.registry import needs_llm

        if not needs_llm(cfg.answer.answerer) or not cfg.llm.model:
            raise ConfigError("--judge needs an LLM: set answer.answerer and llm.model in the config")
        judge = LLMJudge(make_chat_model(cfg))
    if args.every < 1:
        raise ConfigError(f"--every must be 1 or more, got {args.every}")
    if args.squad:
        from evals.squad_rag import print_squad, run_squad_eval, write_squad_report

        result = run_squad_eval(cfg, args.squad, fold=args.fold, every=args.every, progress=sys.stderr.isatty())
        print_squad(result)
        print(f"report: {write_squad_report(result, Path(args.out or default_report_dir(cfg)))}")
        return 0
    runs = run_eval(cfg, args.set, ablate=args.ablate, progress=sys.stderr.isatty(), judge=judge,
                    split=args.split, every=args.every)
    print_table([s for s, _ in runs])
    json_path, md_path = write_reports(Path(args.out or default_report_dir(cfg)), runs)
    print(f"reports: {json_path} {md_path}")
    return 0


def cmd_serve(args) -> int:
    from rag.pipeline import build_pipeline
    from ui.app import build_app
    from ui.server import launch

    cfg = _config(args)
    if args.port is not None and not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    pipeline = build_pipeline(cfg, ensure_index=True)
    host = args.host or cfg.ui.host
    port = args.port or cfg.ui.port
    app = build_app(pipeline, cfg)
    print(f"serving on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    launch(app, cfg, host, port, mcp=args.mcp)
    return 0


def cmd_llm_server(args) -> int:
    from pathlib import Path

    from rag.answering.llm_local import ServerSettings, default_model_path, free_port, run_server

    port = args.port if args.port is not None else free_port(args.host)
    if not 0 < port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {port}")
    model = Path(args.model) if args.model else default_model_path()
    return run_server(ServerSettings(model, args.host, port, args.threads, args.n_ctx, args.alias),
                      allow_remote=args.allow_remote)


def cmd_bench(args) -> int:
    from pathlib import Path

    from evals.bench import print_bench, run_bench
    from evals.suite import default_report_dir

    cfg = _config(args)
    if args.soak:
        from evals.soak import print_soak, run_soak

        out = Path(args.out or default_report_dir(cfg) / "soak.json")
        result = run_soak(args.soak, out, threads=args.soak_threads)
        print_soak(result)
        print(f"report: {out}")
        return 0 if result["plateau"] else 1
    if args.archive:
        from evals.archive_bench import print_archive_bench, run_archive_bench

        archive = Path(args.archive)
        if not archive.is_dir():
            raise ConfigError(f"`rag bench --archive`: {archive} is not a folder of articles")
        out = Path(args.out or default_report_dir(cfg) / "bench-archive.json")
        result = run_archive_bench(archive, Path(cfg.data_dir) / "bench", out,
                                   interrupt_after=args.interrupt_after, backend=args.backend)
        print_archive_bench(result)
        print(f"report: {out}")
        return 0
    out = Path(args.out or default_report_dir(cfg) / "bench.json")
    results = run_bench(args.quick, Path(cfg.data_dir) / "bench", out)
    print_bench(results)
    print(f"report: {out}")
    return 0


def cmd_train_reader(args) -> int:
    import json
    from pathlib import Path

    from rag.reader.model import DELTA_FILE
    from rag.reader.squad import load_folds
    from rag.reader.train import TrainSettings, train

    cfg = _config(args)
    folds = load_folds(args.qa)
    print(" ".join(f"{k}: {len(v)} questions" for k, v in folds.items()), file=sys.stderr)
    depth = {} if args.trainable_from is None else {"trainable_from": args.trainable_from}
    stage = {} if args.init_from is None else {"init_from": args.init_from, "start_epoch": args.start_epoch}
    rates = {k: v for k, v in (("lr_layers", args.lr_layers), ("lr_head", args.lr_head)) if v is not None}
    settings = TrainSettings(epochs=args.epochs, max_tokens=args.max_tokens, seed=args.seed, int8_delta=args.int8_delta,
                             **depth, **stage, **rates)
    out = Path(args.out) if args.out else DELTA_FILE
    summary = train(folds["train"], out, Path(cfg.data_dir) / "reader-train", settings,
                    log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(summary, indent=2))
    print(f"delta: {out}")
    return 0


def cmd_config(args) -> int:
    from rag.config_doc import documented_config

    print(documented_config(), end="")
    return 0


def cmd_backup(args) -> int:
    from rag.index.backup import backup

    dest = backup(_config(args), args.dir)
    print(f"index backed up to {dest}")
    return 0


def cmd_restore(args) -> int:
    from rag.index.backup import restore

    manifest = restore(_config(args), args.dir)
    print(f"index restored from {args.dir} (made {manifest.get('created')}, {manifest.get('chunks')} chunks)")
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
    p.add_argument("--rebuild", action="store_true",
                   help="build the index again from scratch (beside the old one, swapped in when done)")
    p.add_argument("--allow-empty", action="store_true",
                   help="accept a corpus with no loadable article (empties the index)")
    p.add_argument("--prune", action="store_true",
                   help="accept a run that removes more than half of the indexed articles")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show the progress bar (default: when stderr is a terminal)")
    p.set_defaults(func=cmd_ingest)

    def add_stream(p):
        p.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                       help="print the answer as it is written (default: when stdout is a terminal)")

    def add_filters(p):
        p.add_argument("--article", action="append", metavar="ID", help="only this article (repeatable)")
        p.add_argument("--date-from", metavar="YYYY-MM-DD")
        p.add_argument("--date-to", metavar="YYYY-MM-DD")

    p = sub.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question", help='the question, or "-" to read it from standard input')
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--page", type=_page_number, default=1, metavar="N",
                   help="page N of a listing answer (ten articles a page)")
    add_stream(p)
    add_filters(p)
    p.set_defaults(func=cmd_ask, fast_exit=True)

    p = sub.add_parser("chat", help="a conversation in the terminal (follow-ups use the history)")
    add_stream(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("llm-server", help="run a local GGUF model as an OpenAI-compatible server "
                                          "(llama.cpp; see `make llm`)")
    p.add_argument("--model", metavar="FILE", help="a GGUF file (default: the one `make llm` assembles)")
    p.add_argument("--host", default="127.0.0.1",
                   help="default 127.0.0.1; any other host needs --allow-remote and RAG_LLM_API_KEY")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host; clients must send the key in RAG_LLM_API_KEY")
    p.add_argument("--port", type=int, help="default: a free port (printed)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-ctx", type=int, default=4096, help="context window in tokens")
    p.add_argument("--alias", default="local", help="the model name clients use (llm.model)")
    p.set_defaults(func=cmd_llm_server)

    p = sub.add_parser("serve", help="start the chat UI (Gradio)")
    p.add_argument("--host", help="default 127.0.0.1; any other host needs auth (RAG_UI_AUTH=user:pass)")
    p.add_argument("--port", type=int, help="default 7860")
    p.add_argument("--mcp", action="store_true", help="also expose /ask as an MCP tool (needs gradio[mcp])")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("backup", help="copy the index (Chroma + BM25) to an empty folder")
    p.add_argument("dir")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="replace the index with a backup made by `rag backup`")
    p.add_argument("dir")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("bench", help="measure ingest and query speed and memory (writes JSON)")
    p.add_argument("--quick", action="store_true", help="small sizes only (under 2 minutes)")
    p.add_argument("--out", metavar="FILE", help="JSON report (default: reports/bench.json)")
    p.add_argument("--soak", type=int, metavar="N",
                   help="instead: N /ask calls against a `rag serve` process, RSS every 1,000 (e.g. 20000)")
    p.add_argument("--soak-threads", type=int, default=4, metavar="T", help="client threads for --soak")
    p.add_argument("--archive", metavar="DIR",
                   help="instead: ingest this folder from nothing and measure the model at its size "
                        "(ingest, resume, re-ingest, torch fp32 limit, query latency, cold ask, RSS)")
    p.add_argument("--interrupt-after", type=float, metavar="S",
                   help="with --archive: kill the first ingest after S seconds and resume it")
    p.add_argument("--backend", metavar="NAME", help="with --archive: this embedding backend")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("eval", help="measure retrieval and answer accuracy on an eval set")
    p.add_argument("--set", metavar="FILE", help="eval set YAML (default: the shipped corpus's set)")
    p.add_argument("--ablate", action="store_true", help="dense-only, BM25-only and hybrid side by side")
    p.add_argument("--split", choices=("dev", "test", "all"), default="all",
                   help="which items to run: dev (tune on these), test (judge only) or all (default; "
                        "dev and test reported side by side)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="only every N-th item of each split (a documented subset for slow answerers)")
    p.add_argument("--out", metavar="DIR", help="where to write eval.json and eval.md (default: reports/)")
    p.add_argument("--from-feedback", metavar="FILE", help="turn thumbs-down feedback into draft items")
    p.add_argument("--judge", action="store_true",
                   help="also score answers with the configured LLM (fact recall, faithfulness)")
    p.add_argument("--squad", metavar="FILE",
                   help="a SQuAD-format file (or a folder of them, with --fold) as a RAG benchmark: "
                        "its paragraphs become the corpus, every question is asked through answer()")
    p.add_argument("--fold", choices=("dev", "test"), help="with --squad DIR: the paragraph fold to run")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train-reader", help="fine-tune the reader on SQuAD-format files (about an hour)")
    p.add_argument("--qa", default="../shared/qa", metavar="DIR", help="folder of SQuAD-format .json files")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=192, help="question + context tokens per window")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--trainable-from", type=int, metavar="LAYER",
                   help="train encoder layers from this one up (default: the depth of --init-from's delta, else 7; "
                        "each adds 3.5 MB to the delta, 1.8 MB with --int8-delta; a stage may go deeper "
                        "than the delta it starts from, not shallower)")
    p.add_argument("--int8-delta", action="store_true",
                   help="store the delta's weight matrices as int8 rows with a scale each")
    p.add_argument("--init-from", metavar="DELTA", help="go on from a trained delta (a second stage)")
    p.add_argument("--start-epoch", type=int, default=0,
                   help="with --init-from: the epochs the first stage ran, so its windows are not drawn again")
    p.add_argument("--lr-layers", type=float, metavar="RATE", help="peak learning rate of the layers (default 1e-4)")
    p.add_argument("--lr-head", type=float, metavar="RATE", help="peak learning rate of the head (default 1e-3)")
    p.add_argument("--out", metavar="FILE", help="where to write the delta (default: the shipped one)")
    p.set_defaults(func=cmd_train_reader)

    p = sub.add_parser("config", help="print every config key with its default and what it does")
    p.set_defaults(func=cmd_config)
    return parser


def _notes_to_stderr() -> None:
    """What the core logs on its own (e.g. finishing an interrupted restore) reaches the user."""

    log = logging.getLogger("rag")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main(argv: list[str] | None = None) -> int:
    """The command line in-process (returns the exit code); `run` is the `rag` command."""
    return _dispatch(argv)[0]


def run() -> NoReturn:
    """The `rag` command. `rag ask` ends without tearing the interpreter down: freeing its
    indexes, dictionaries and two onnxruntime sessions took 0.3 s of a 3.3 s cold `rag ask`
    at 10,000 articles, after the answer was printed (median of six runs each, 2026-12-07),
    and it wrote nothing that is still open. Every other command exits as usual."""
    code, fast_exit = _dispatch(None)
    if fast_exit:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):  # the reader left (`| head`): nothing more to say
            pass
        except OSError as exc:  # a full disk under `> answer.txt`: the answer is not all there
            print(f"error: cannot write the answer: {exc.strerror or exc}", file=sys.stderr)
            code = code or 1
        logging.shutdown()
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)


def _dispatch(argv: list[str] | None) -> tuple[int, bool]:
    """(exit code, whether the command may end without tearing the interpreter down: it
    left nothing open that closing would finish; see `run`)."""
    from rag.index.embedding import set_offline_env

    set_offline_env()
    _notes_to_stderr()
    parser = build_parser()
    args = parser.parse_args(argv)
    return _run_command(args), bool(getattr(args, "fast_exit", False))


def _run_command(args) -> int:
    try:
        return args.func(args)
    except IndexBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag ask ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except OSError as exc:  # the machine, not the program: one line, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    run()
