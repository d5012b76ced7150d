"""`vcprep view`: a local, read-only web app over dataset folders and `vctrain eval` reports."""
