"""engine.kernels: the numpy route and the torch route give torch's answer on every shape the
trainer uses, autograd still works, and overflow stays as quiet as torch's."""
import warnings

import numpy as np
import pytest
import torch

from engine import kernels as K
from engine.config import ModelSpec
from engine.model import Layout

R, N = 5, 37
SHAPES = [  # (a, b) of every product in the forward and backward pass of a 2-16-16-1 / 64-32-10 net
    ((R, N, 2), (R, 2, 16)), ((R, N, 16), (R, 16, 16)), ((R, N, 16), (R, 16, 1)),  # forward
    ((R, N, 1), (R, 1, 16)),  # output delta times a one-unit weight row: an outer product
    ((R, N, 64), (R, 64, 32)), ((R, N, 32), (R, 32, 10)),
]


def _pair(sa, sb, dtype, g):
    return torch.randn(sa, generator=g, dtype=dtype), torch.randn(sb, generator=g, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_bmm_and_affine_equal_torch(sa, sb, dtype):
    g = torch.Generator().manual_seed(0)
    a, b = _pair(sa, sb, dtype, g)
    bias = torch.randn(R, 1, sb[-1], generator=g, dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(K.bmm(a, b), torch.bmm(a, b), **tol)
    torch.testing.assert_close(K.affine(bias, a, b), torch.baddbmm(bias, a, b), **tol)
    # the transposed operands of the backward pass: h^T delta and delta W^T
    torch.testing.assert_close(K.bmm(a.transpose(1, 2), a), torch.bmm(a.transpose(1, 2), a), **tol)
    torch.testing.assert_close(K.bmm(a, b.transpose(1, 2).transpose(1, 2)), torch.bmm(a, b), **tol)


def test_views_of_the_flat_parameter_row_work_as_operands():
    spec = ModelSpec(hidden=(16, 16), activation="tanh")
    L = Layout(spec, 2, 1)
    flat = torch.randn(R, L.size)
    W = L.view(flat, L.get("W", 1))  # (R, 16, 16), a strided view into each row
    b = L.view(flat, L.get("b", 1))
    h = torch.randn(R, N, 16)
    torch.testing.assert_close(K.affine(b, h, W), torch.baddbmm(b, h, W), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(K.bmm(h, W.transpose(1, 2)), torch.bmm(h, W.transpose(1, 2)), rtol=1e-5, atol=1e-5)


def test_tanh_is_as_accurate_as_torch_against_float64():
    x = torch.cat([torch.randn(10_000) * s for s in (1e-6, 1e-2, 1, 5, 30)]).view(5, 100, 100)
    ref = torch.tanh(x.double())
    ours = K.tanh(x)
    assert ours.dtype == torch.float32 and ours.shape == x.shape
    for odd in (torch.tensor(0.5, dtype=torch.float64), x.transpose(0, 2), x[:, ::3]):  # 0-d, strided
        torch.testing.assert_close(K.tanh(odd), torch.tanh(odd))
    assert float((ours.double() - ref).abs().max()) <= 2 * float((torch.tanh(x).double() - ref).abs().max()) + 1e-8
    # relative accuracy where tanh(x) ~ x: the vanishing-gradient lesson lives there
    small = x.abs() < 1e-3
    assert float(((ours.double() - ref).abs() / ref.abs().clamp_min(1e-30))[small].max()) < 1e-6


def test_tracked_tensors_take_the_torch_route_and_keep_their_gradient():
    g = torch.Generator().manual_seed(3)
    a, b = _pair((R, N, 4), (R, 4, 3), torch.float32, g)
    b.requires_grad_(True)
    out = K.tanh(K.affine(torch.zeros(R, 1, 3), a, b)).sum()
    out.backward()
    b2 = b.detach().clone().requires_grad_(True)
    torch.tanh(torch.bmm(a, b2)).sum().backward()
    torch.testing.assert_close(b.grad, b2.grad)


def test_mixed_dtypes_are_left_to_torch():
    a = torch.randn(R, N, 4)
    b = torch.randn(R, 4, 3, dtype=torch.float64)
    with pytest.raises(RuntimeError):  # torch refuses, as it would without the helper
        K.bmm(a, b)


def test_overflow_gives_inf_without_a_numpy_warning():
    a = torch.full((2, 3, 4), 3e38)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = K.affine(torch.zeros(2, 1, 4), a, torch.full((2, 4, 4), 3e38))
        assert not torch.isfinite(z).any()
        assert torch.isnan(K.bmm(z, torch.zeros(2, 4, 4))).all()
        assert float(K.tanh(torch.tensor([np.inf, -np.inf])).sum()) == 0.0


def test_training_keeps_numpy_blas_at_one_thread_and_restores_it():
    # OpenBLAS threads spinning beside torch's OpenMP threads made lesson sweeps 7x slower on 2 cores
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from engine.threads import blas_one_thread

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with blas_one_thread():
        with blas_one_thread():  # a second, concurrent pass
            assert set(blas_threads()) <= {1}
        assert set(blas_threads()) <= {1}  # still inside the first pass
    assert blas_threads() == before
