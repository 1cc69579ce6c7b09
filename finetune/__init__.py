"""The fine-tune track: base-model registry and loading, SFT data building, LoRA/QLoRA training,
adapters, and the training cost/memory estimator. Imports only ``corpus``; never ``retrieval``."""
