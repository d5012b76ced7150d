"""Stage 2, detect + track: detectors and trackers (plug-ins), the tracking loop, post-processing,
the tracks cache, and track quality (oracle ceilings).

Reads `core` and `decode`; knows nothing of rendering or shards.
"""
