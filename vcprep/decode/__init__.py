"""Stage 1, decode: probe a video and read the frames a stage asks for, in order, once (`video.py`)."""
