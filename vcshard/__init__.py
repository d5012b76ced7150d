"""The shard contract shared by the writer (vcprep) and every reader (vctrain): the row schema, the row and file
hashes, the folder layout and the manifest line checks (data_cards/SCHEMA.md documents them).

Why a package of its own: both sides must hash, check and name things identically, and vctrain must not import
vcprep (its heavy stages) to read a shard. This package imports neither of them; both import it.
"""
