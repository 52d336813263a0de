"""Human-readable text for reports printed by the CLI."""

from __future__ import annotations

from rag.types import IngestReport


def format_ingest_report(r: IngestReport) -> str:
    lines = [
        f"ingested in {r.seconds:.2f} s: {len(r.added)} added, {len(r.updated)} updated, "
        f"{len(r.unchanged)} unchanged, {len(r.removed)} removed, {len(r.skipped)} skipped, "
        f"{len(r.moved)} moved",
        f"chunks: {r.chunks_total} in the index, {r.chunks_embedded} embedded this run; "
        f"texts embedded: {r.sentences_embedded} (sentences and headers; chunk vectors are made "
        "from them, and unchanged texts are reused)",
    ]
    if r.dense_weight == 0:
        verdict = "dense retrieval is skipped; BM25 over jieba terms does the work"
    else:
        verdict = f"dense retrieval weight {r.dense_weight:.2f}"
    lines.append(
        f"embedding model: {r.embedding_model}; [UNK] share on this corpus {r.unk_share:.0%} -> {verdict}"
    )
    for s in r.skipped:
        lines.append(f"  skipped {s.path}: {s.reason}")
    for a in r.removed:
        lines.append(f"  removed {a}")
    for old, new in r.moved[:10]:
        lines.append(f"  moved {old} -> {new} (vectors reused)")
    if len(r.moved) > 10:
        lines.append(f"  ... and {len(r.moved) - 10} more moved")
    for note in r.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
