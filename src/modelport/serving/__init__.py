"""Serving what modelport imported: the vLLM LoRA resolver plugin, verified pulls of any import into a
local folder, and the load proof in a real engine. Models are read only through the `ModelStore`
protocol and their manifest; nothing here writes to the model store or the database."""
