"""Shared ground of both tracks: the data model, loaders for every input format, chunking, the
synthetic fictional-domain generator and QA generation. Imports nothing from the other packages."""
