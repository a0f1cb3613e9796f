"""Command-line tools: attn-opt and attn-run."""
