"""Raising linalg to attn ops, one concept per module (attention, masks, rotary)."""
