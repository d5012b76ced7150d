"""Tiny randomly initialised Qwen2.5-VL and Qwen3-VL models built from their configs, with no download.

Why: tests, the benchmark and users without weights need the *real* loading, processing, generation and
training code paths (AutoProcessor, AutoModelForImageTextToText, mrope, the video processor) on a model
small enough for a CPU. Everything here is Qwen2.5-VL's own classes; only the sizes and the tokenizer are
ours: a byte-level BPE trained on the shard prompt style, with Qwen's special tokens at their usual roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Answer-format tags are ordinary (non-special) added tokens: they survive `skip_special_tokens` decoding.
FORMAT_TOKENS: tuple[str, ...] = ("<think>", "</think>", "<answer>", "</answer>")

# Qwen2-VL's chat template, reduced to what the shards use (system + user with one video/image + assistant).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Text the BPE merges are learned from: the STVG-R1 prompt and answer style, so words like "Target" are tokens.
_CORPUS: tuple[str, ...] = (
    "You are a helpful assistant that grounds answers in space and time. First think about the question "
    "inside <think> </think> tags, then give the final answer inside <answer> </answer> tags.",
    "The video runs from 0.00 to 16.00 seconds. Each object in the video carries a red number at its centre.",
    "Question: Which man in a dark jacket walks alone up the path towards the building, and when?",
    "Which object is the target, and from when to when does the described event happen?",
    "<think>The man with ID 3 walks from 4.60 to 10.60 seconds.</think>"
    "<answer>Target ID: 3, Time range: 4.60 to 10.60</answer>",
    "Target ID: 1, Time range: 0.50 to 2.25. Target ID: 12, Time range: 7.80 and 9.15.",
    "From <t>1.5</t>s to <t>8.0</t>s. Correct Option: B. <obj>person</obj><box>[10,20,30,40]</box>at<t>2.0</t>s",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 A B C D",
)


@dataclass(frozen=True)
class TinySizes:
    """Sizes of the tiny model; defaults give about 0.2 M parameters."""

    vocab_size: int = 400
    """BPE vocabulary size including special and format tokens."""
    hidden_size: int = 64
    """Text hidden size; head_dim = hidden_size / num_attention_heads."""
    num_hidden_layers: int = 2
    """Text decoder layers."""
    num_attention_heads: int = 4
    """Text attention heads (head_dim 16: mrope_section must sum to 8)."""
    vision_depth: int = 2
    """Vision transformer blocks."""
    vision_hidden_size: int = 32
    """Vision transformer width."""


def _transformers_major() -> int:
    """transformers' major version: 4.5x (EasyR1 pins < 5) and 5.x spell the tokenizer and rope settings apart."""
    import transformers

    return int(transformers.__version__.split(".")[0])


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE PreTrainedTokenizerFast with Qwen's special tokens and a Qwen-style chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2TokenizerFast  # type: ignore[attr-defined]

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(FORMAT_TOKENS),
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    # transformers 4.5x's Qwen2.5-VL processor accepts only the Qwen2 tokenizer class; 5.x takes the generic one
    cls = PreTrainedTokenizerFast if _transformers_major() >= 5 else Qwen2TokenizerFast
    fast = cls(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]),
    )
    fast.add_tokens(list(FORMAT_TOKENS))
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _rope_config(mrope_section: list[int]) -> dict:
    """The text config's rotary settings: transformers 5 reads `rope_parameters`; 4.5x (EasyR1 pins < 5) reads
    `rope_theta` + `rope_scaling` and its mrope type, and would silently drop the section given the 5.x way."""
    if _transformers_major() >= 5:
        return {"rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope_section}}
    return {"rope_theta": 10000.0, "rope_scaling": {"type": "mrope", "mrope_section": mrope_section}}


def build_tiny_qwen25vl(out_dir: str | Path, *, sizes: TinySizes | None = None, seed: int = 0) -> Path:
    """Build, randomly initialise and `save_pretrained` a tiny Qwen2.5-VL model + processor into `out_dir`.

    The result loads with `AutoModelForImageTextToText.from_pretrained(out_dir)` and `AutoProcessor`.
    """
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    sizes = sizes or TinySizes()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(sizes.vocab_size)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    head_dim = sizes.hidden_size // sizes.num_attention_heads
    half = head_dim // 2
    mrope_section = [half - 2 * (half // 4), half // 4, half // 4]  # sums to head_dim / 2
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": sizes.hidden_size,
            "intermediate_size": sizes.hidden_size * 2,
            "num_hidden_layers": sizes.num_hidden_layers,
            "num_attention_heads": sizes.num_attention_heads,
            "num_key_value_heads": sizes.num_attention_heads // 2,
            "max_position_embeddings": 4096,
            **_rope_config(mrope_section),
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": sizes.vision_depth,
            "hidden_size": sizes.vision_hidden_size,
            "intermediate_size": sizes.vision_hidden_size * 2,
            "num_heads": 2,
            "out_hidden_size": sizes.hidden_size,
            "fullatt_block_indexes": [sizes.vision_depth - 1],
            "window_size": 56,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    pixels = {"shortest_edge": 28 * 28, "longest_edge": 56 * 56 * 4}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels),
        video_processor=Qwen2VLVideoProcessor(size=pixels),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    return out


def build_tiny_qwen3vl(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build, randomly initialise and `save_pretrained` a tiny Qwen3-VL model + processor into `out_dir`.

    Qwen3-VL differs from Qwen2.5-VL where exports must care: 16-pixel patches (verl's `data.image_patch_size=16`)
    and a `<t seconds>` text timestamp before each 2-frame temporal patch, computed from the video metadata.
    Needs transformers 5 (its Qwen3-VL classes; text hidden 64, 2 layers, vision depth 2).
    """
    import torch
    import transformers

    if _transformers_major() < 5 or not hasattr(transformers, "Qwen3VLForConditionalGeneration"):
        raise RuntimeError(f"transformers {transformers.__version__} has no Qwen3-VL classes; install transformers>=5")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2], "mrope_interleaved": True}
    text = {"vocab_size": len(tok), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 4096,
            "rope_parameters": rope, "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"]}  # fmt: skip
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
              "deepstack_visual_indexes": [0], "num_position_embeddings": 64}  # fmt: skip
    torch.manual_seed(seed)
    model = transformers.Qwen3VLForConditionalGeneration(transformers.Qwen3VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"], tie_word_embeddings=False,
    ))
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    pixels = {"shortest_edge": 32 * 32, "longest_edge": 64 * 64 * 4}
    transformers.Qwen3VLProcessor(
        image_processor=transformers.Qwen2VLImageProcessor(size=pixels, patch_size=16),
        video_processor=transformers.Qwen3VLVideoProcessor(size=pixels),
        tokenizer=tok,
        chat_template=CHAT_TEMPLATE,
    ).save_pretrained(out)
    return out


TINY_FAMILIES = {"qwen2.5-vl": build_tiny_qwen25vl, "qwen3-vl": build_tiny_qwen3vl}
"""`vctrain build-tiny --family NAME`: the tiny builders by family name."""
