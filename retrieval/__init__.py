"""The RAG track: embedding, FAISS indexes, BM25 and hybrid fusion, context assembly with
citations, retrieval metrics and retrievability analysis. Imports only ``corpus``; never
``finetune``."""
