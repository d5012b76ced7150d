"""Stage 0, shared by every stage: types, the recipe config, the plug-in registry, errors, box geometry, RLE masks.

Nothing here imports another `vcprep` folder; every stage imports from here.
"""
