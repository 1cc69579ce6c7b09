"""From a measured run to a decision: use cases, the recommender and projections to other sizes."""
