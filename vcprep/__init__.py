"""vcprep: turn videos and grounding annotations into visual-prompt Parquet shards.

Data flows one way: source -> decode -> detect -> track -> tracks -> render -> shards.
Heavy dependencies are imported lazily inside the plug-ins that need them.
"""

__version__ = "0.1.0"
