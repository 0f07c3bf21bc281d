"""Renderers from transcript.json to text notations (plain; Jefferson and GAT2 build on it)."""
