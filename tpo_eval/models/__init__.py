"""Model adapters: things that answer :class:`~tpo_eval.types.Request` s. Registered in
tpo_eval.registries."""
