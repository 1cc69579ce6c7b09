"""Where the tracks meet: systems (base, rag, ft, hybrid), the generation engine, scorers,
scenarios (freshness, forgetting, style), the cost model, the recommender, reports and the CLI."""
