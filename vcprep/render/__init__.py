"""Stage 3, render: prompt templates and answers, the visual-prompt renderers, and the rows of one sample.

Reads `core`, `decode` and `track` (tracks, target matching); writes nothing to disk.
"""
