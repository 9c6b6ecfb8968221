"""tpo-train: the TPO training core (task tokens, heads, recipes). See tpo_train/README.md."""
