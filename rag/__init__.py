"""Retrieval-augmented Q&A over news articles with checked citations."""
