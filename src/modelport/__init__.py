"""modelport: a DashScope-compatible import gate for fine-tuned Qwen models."""

__version__ = "0.1.0"
