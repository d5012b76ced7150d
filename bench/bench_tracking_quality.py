"""Tracking quality (issue 16): HOTA / IDF1 / MOTA / recall of the demo recipe on tests/fixtures/vtest_mot,
before (raw HOG windows) and after each change, with the time per tracked frame, all in one run.

    PYTHONPATH=. python bench/bench_tracking_quality.py [only-settings-containing ...]
"""
import copy
import sys

from vcprep.core.config import load_pipeline
from vcprep.track.evaluate import evaluate_recipe

cfg = load_pipeline('pipelines/demo.yaml')
cfg.source.data_root = '.cache/media'
settings = {
 'before (window boxes, no fill)': dict(det={'margin_x_fraction':0,'margin_y_fraction':0}, fill=0),
 'margin removed': dict(det={}, fill=0),
 'margin + fill': dict(det={}, fill=2),
 'margin + fill + priors': dict(det={'priors':{'max_height_fraction':0.5}}, fill=2),
 'margin + fill + priors + resize 1.5': dict(det={'priors':{'max_height_fraction':0.5},'resize':1.5}, fill=2),
 'margin + fill + priors + resize 2': dict(det={'priors':{'max_height_fraction':0.5},'resize':2.0}, fill=2),
}
only = sys.argv[1:]
for name, s in settings.items():
    if only and not any(o in name for o in only):
        continue
    c = copy.deepcopy(cfg)
    c.detector.params = {**c.detector.params, **s['det']}
    c.postprocess.fill_gaps_max_frames = s['fill']
    r = evaluate_recipe(c, 'vtest.avi', 'tests/fixtures/vtest_mot/gt.txt')
    rep = r.report
    print(f"| {name} | {rep.hota:.3f} | {rep.idf1:.3f} | {rep.mota:.3f} | {rep.recall:.3f} | "
          f"{rep.precision:.3f} | {r.seconds_per_frame * 1000:.0f} |", flush=True)
