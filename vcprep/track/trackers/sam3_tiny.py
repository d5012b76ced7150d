"""A tiny randomly initialised SAM 3 video checkpoint, built from transformers' config classes (no download).

For tests and benchmarks of the `sam3` tracker's plumbing (sessions, chunks, ID linking, memory): about
5 M parameters at 56 px, with a character-level CLIP tokenizer. Its outputs mean nothing.
"""

from __future__ import annotations

from pathlib import Path


def tiny_sam3_checkpoint(folder: Path) -> Path:
    """A SAM 3 video model from its config classes, random weights, with a character-level CLIP tokenizer.

    Sizes that must agree (transformers 5 `modeling_sam3_tracker_video.py`): the memory attention's image
    cross-attention takes `kv_in_dim=64` (hard-coded), so `memory_encoder_output_channels` is 64; object
    pointers are split into `hidden // 64` tokens only when the hidden size is *larger* than 64
    (`_process_object_pointers`, `if self.mem_dim < num_channels`), otherwise they stay 4-D and
    `torch.cat` fails on the second frame: the tracker's hidden sizes are 128. The image is a multiple
    of the patch size (14), and `low_res_mask_size` is 4x the backbone's feature size.
    """
    import json
    import string

    import torch
    from transformers import (
        CLIPTokenizer,
        Sam3Config,
        Sam3ImageProcessor,
        Sam3TrackerVideoConfig,
        Sam3VideoConfig,
        Sam3VideoModel,
        Sam3VideoProcessor,
    )
    from transformers.models.sam2_video.video_processing_sam2_video import Sam2VideoVideoProcessor

    size, patch, hidden, small = 56, 14, 128, 32
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in string.ascii_lowercase + string.digits + string.punctuation:
            vocab[c + suffix] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>")
    vit = dict(model_type="sam3_vit_model", hidden_size=small, intermediate_size=2 * small, num_hidden_layers=2,
               num_attention_heads=2, image_size=size, patch_size=patch, window_size=size // patch,
               global_attn_indexes=[1], pretrain_image_size=size)
    vision = dict(backbone_config=vit, fpn_hidden_size=hidden)
    layer = dict(hidden_size=hidden, num_layers=1, num_attention_heads=2, intermediate_size=2 * hidden)
    detector = Sam3Config(
        vision_config=vision, geometry_encoder_config=layer, detr_encoder_config=layer,
        detr_decoder_config=dict(layer, num_queries=4),
        mask_decoder_config=dict(hidden_size=hidden, num_attention_heads=2),
        text_config=dict(vocab_size=len(vocab), hidden_size=small, intermediate_size=2 * small, projection_dim=hidden,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=32))
    tracker = Sam3TrackerVideoConfig(
        vision_config=vision, prompt_encoder_config=dict(hidden_size=hidden),
        mask_decoder_config=dict(hidden_size=hidden, num_attention_heads=2, mlp_dim=2 * hidden,
                                 iou_head_hidden_dim=hidden),
        memory_attention_hidden_size=hidden, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=2 * hidden, memory_encoder_hidden_size=hidden,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=hidden, memory_fuser_embed_dim=hidden,
        memory_fuser_intermediate_dim=2 * hidden, num_maskmem=3, max_object_pointers_in_encoder=4,
        image_size=size)  # type: ignore[call-arg]  # read from kwargs by __post_init__
    # thresholds at 0: random weights score near 0.5, and every query should become an object to track
    config = Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=4 * size // patch,
                             score_threshold_detection=0.0, new_det_thresh=0.0, hotstart_delay=0)
    torch.manual_seed(0)
    Sam3VideoModel(config).eval().save_pretrained(folder)
    Sam3VideoProcessor(image_processor=Sam3ImageProcessor(size={"height": size, "width": size}),
                       video_processor=Sam2VideoVideoProcessor(size={"height": size, "width": size}),
                       tokenizer=tokenizer, target_size=size).save_pretrained(folder)
    return folder
