"""The scenarios teams decide on: freshness, forgetting, house style, quantised serving, prompt
injection, and their report sections."""
