"""Reading vcprep's shards: the reader (`reader.py`: index rows, load a sample's frames, data order, checks) and the
ground truth a row carries (`groundtruth.py`). The bottom layer of vctrain: it imports no other part of it."""
