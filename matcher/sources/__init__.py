"""Readers for the pipeline's inputs: gazetteer, countries, context, link tables, migration, curated profiles."""
