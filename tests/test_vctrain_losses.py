"""GRPO / GSPO loss functions against values derived by hand in each test."""

from __future__ import annotations

import math

import pytest
import torch

from vctrain.rl.losses import (
    group_advantages,
    grpo_token_objective,
    gspo_sequence_ratio,
    k3_kl,
    masked_mean,
    policy_loss,
)

TOL = {"rtol": 0, "atol": 1e-6}


def test_group_advantages_by_hand() -> None:
    # rewards 1, 0, 0, 1: mean 0.5; unbiased std = sqrt(4 * 0.25 / 3) = sqrt(1/3)
    adv = group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64))
    a = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    torch.testing.assert_close(adv, torch.tensor([a, -a, -a, a], dtype=torch.float64), **TOL)
    # rewards 3, 1, 2: mean 2, unbiased std 1 -> (1, -1, 0) / 1.0001
    adv = group_advantages(torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(adv, torch.tensor([1, -1, 0], dtype=torch.float64) / 1.0001, **TOL)


def test_group_advantages_equal_rewards_give_zero_not_nan() -> None:
    assert torch.equal(group_advantages(torch.full((8,), 0.5)), torch.zeros(8))
    # 0.7 is not exact in binary: the mean's rounding error / (0 + 1e-4) stays far below any real advantage
    assert group_advantages(torch.full((8,), 0.7)).abs().max() < 1e-2
    assert torch.equal(group_advantages(torch.tensor([0.3])), torch.zeros(1))


def test_k3_kl_by_hand_and_clamp() -> None:
    logp = torch.tensor([[-1.0, -2.0, -30.0, -1.0]], dtype=torch.float64)
    ref = torch.tensor([[-2.0, -2.0, -1.0, -40.0]], dtype=torch.float64)
    # r = ref - logp = -1, 0, 29 -> 10 (clamped), -39 -> -10 (clamped); k3 = e^r - r - 1
    expected = torch.tensor(
        [[math.exp(-1) + 1 - 1, 0.0, math.exp(10) - 10 - 1, math.exp(-10) + 10 - 1]], dtype=torch.float64
    )
    torch.testing.assert_close(k3_kl(logp, ref, clamp=10.0), expected, **TOL)
    assert (k3_kl(torch.randn(3, 5), torch.randn(3, 5)) >= 0).all()  # k3 is never negative


def test_grpo_token_clipping_by_hand() -> None:
    old = torch.zeros(1, 4, dtype=torch.float64)
    # token ratios 1.5, 1.5, 0.5, 0.5 under advantages +1 (row 0) and -1 (row 1)
    logp = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]], dtype=torch.float64)).expand(2, 4)
    loss, clipped = grpo_token_objective(logp, old.expand(2, 4), torch.tensor([1.0, -1.0], dtype=torch.float64), 0.2)
    # A=+1: -min(1.5, 1.2) = -1.2 (clipped), -min(0.5, 0.8) = -0.5 (not clipped)
    # A=-1: -min(-1.5, -1.2) = 1.5 (not clipped), -min(-0.5, -0.8) = 0.8 (clipped)
    expected = torch.tensor([[-1.2, -1.2, -0.5, -0.5], [1.5, 1.5, 0.8, 0.8]], dtype=torch.float64)
    torch.testing.assert_close(loss, expected, **TOL)
    assert clipped.tolist() == [[True, True, False, False], [False, False, True, True]]


def test_gspo_ratio_differs_from_grpo_where_it_should() -> None:
    # token log-ratios ln 2 and ln 0.5 (+ a masked-out token with a huge ratio that must not count)
    old = torch.zeros(1, 3, dtype=torch.float64)
    logp = torch.tensor([[math.log(2.0), math.log(0.5), 5.0]], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 0]])
    adv = torch.tensor([1.0], dtype=torch.float64)
    # GSPO: s = exp(mean(ln 2, ln 0.5)) = exp(0) = 1 -> inside the clip range, loss = -1 * A = -1
    torch.testing.assert_close(gspo_sequence_ratio(logp, old, mask), torch.tensor([1.0], dtype=torch.float64), **TOL)
    gspo = policy_loss(logp, old, None, mask, adv, algorithm="gspo", eps=0.2, beta=0.0)
    assert gspo.loss.item() == pytest.approx(-1.0, abs=1e-9)
    assert gspo.clip_fraction == 0.0
    # GRPO: token ratios 2 (clipped to 1.2) and 0.5: mean(-1.2, -0.5) = -0.85, half of the tokens clipped
    grpo = policy_loss(logp, old, None, mask, adv, algorithm="grpo", eps=0.2, beta=0.0)
    assert grpo.loss.item() == pytest.approx(-0.85, abs=1e-9)
    assert grpo.clip_fraction == pytest.approx(0.5)
    # when every token has the same ratio the two agree: ratio 1.5 everywhere -> both clip at 1.2
    same = torch.full((1, 3), math.log(1.5), dtype=torch.float64)
    a = policy_loss(same, old, None, mask, adv, algorithm="grpo", eps=0.2, beta=0.0).loss.item()
    b = policy_loss(same, old, None, mask, adv, algorithm="gspo", eps=0.2, beta=0.0).loss.item()
    assert a == pytest.approx(b, abs=1e-12) and a == pytest.approx(-1.2, abs=1e-12)


def test_aggregation_sequence_mean_vs_token_mean_by_hand() -> None:
    # on-policy (ratio 1): per-token loss = -A. Response 0 has 1 token (A=+1), response 1 has 3 tokens (A=-1).
    logp = torch.zeros(2, 3, dtype=torch.float64)
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    adv = torch.tensor([1.0, -1.0], dtype=torch.float64)
    seq = policy_loss(logp, logp, None, mask, adv, beta=0.0, aggregation="sequence_mean").loss.item()
    tok = policy_loss(logp, logp, None, mask, adv, beta=0.0, aggregation="token_mean").loss.item()
    assert seq == pytest.approx(((-1.0) + (1.0)) / 2, abs=1e-12)  # mean of per-response means: 0
    assert tok == pytest.approx((-1.0 + 3 * 1.0) / 4, abs=1e-12)  # mean over the 4 tokens: 0.5


def test_kl_term_and_no_kl_mode_by_hand() -> None:
    logp = torch.tensor([[-1.0, -1.0]], dtype=torch.float64)
    ref = torch.tensor([[-2.0, -1.0]], dtype=torch.float64)  # k3 = e^-1 and 0 -> per-response mean e^-1 / 2
    mask = torch.ones(1, 2)
    adv = torch.tensor([0.0], dtype=torch.float64)
    with_kl = policy_loss(logp, logp, ref, mask, adv, beta=0.04)
    assert with_kl.kl == pytest.approx(math.exp(-1) / 2, abs=1e-12)
    assert with_kl.loss.item() == pytest.approx(0.04 * math.exp(-1) / 2, abs=1e-12)
    no_kl = policy_loss(logp, logp, ref, mask, adv, beta=0.0)
    assert no_kl.loss.item() == 0.0
    assert policy_loss(logp, logp, None, mask, adv, beta=0.04).kl == 0.0


def test_on_policy_gradient_is_minus_advantage_over_length() -> None:
    # d/dlogp of -(exp(logp - sg(logp)) * A) averaged per response = -A / |y| on every real token, 0 on padding
    logp = torch.tensor([[-0.3, -0.2, -0.9], [-1.0, -0.5, -0.1]], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    adv = torch.tensor([2.0, -1.0], dtype=torch.float64)
    policy_loss(logp, logp.detach(), None, mask, adv, beta=0.0).loss.backward()
    expected = torch.tensor([[-2 / 2 / 2, -2 / 2 / 2, 0.0], [1 / 3 / 2, 1 / 3 / 2, 1 / 3 / 2]], dtype=torch.float64)
    torch.testing.assert_close(logp.grad, expected, **TOL)


def test_masked_mean_empty_mask_is_zero() -> None:
    assert masked_mean(torch.ones(2, 3), torch.zeros(2, 3)).item() == 0.0
    torch.testing.assert_close(
        masked_mean(torch.tensor([[1.0, 3.0]]), torch.tensor([[1, 1]]), dim=1), torch.tensor([2.0])
    )


def test_unknown_algorithm_and_aggregation_fail_loudly() -> None:
    x = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="algorithm"):
        policy_loss(x, x, None, torch.ones(1, 2), torch.zeros(1), algorithm="ppo")
    with pytest.raises(ValueError, match="aggregation"):
        policy_loss(x, x, None, torch.ones(1, 2), torch.zeros(1), aggregation="sum")
