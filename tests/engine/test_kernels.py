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


def _grad_row_views(dtype=torch.float32):
    """A 2-16-16-1 net's weight views into a parameter row and a gradient row, as the trainer has them."""
    L = Layout(ModelSpec(hidden=(16, 16), activation="tanh"), 2, 1)
    g = torch.Generator().manual_seed(4)
    flat, grad = torch.randn(R, L.size, generator=g, dtype=dtype), torch.zeros(R, L.size, dtype=dtype)
    Ws = [L.view(flat, L.get("W", i)) for i in range(3)]
    gWs = [L.view(grad, L.get("W", i)) for i in range(3)]
    bs = [L.view(flat, L.get("b", i)) for i in range(3)]
    return Ws, gWs, bs, g


@pytest.mark.parametrize("n", [N, 1])  # 1: a batch of one, where h^T delta is an outer product
def test_layer_products_give_the_bits_of_the_calls_they_replace(n):
    """K.LayerProducts (numpy twins made once) writes exactly what bmm/affine give on the same operands,
    and the written-into gradient views match a fresh product bit for bit: the shipped cache depends on it."""
    Ws, gWs, bs, g = _grad_row_views()
    mm = K.LayerProducts(Ws, gWs)
    assert mm.numpy
    h = torch.randn(R, n, 2, generator=g)
    for i in range(3):
        z = mm.forward(i, bs[i], h)
        assert torch.equal(z, K.affine(bs[i], h, Ws[i]))
        delta = torch.randn(R, n, Ws[i].shape[2], generator=g)
        mm.grad_w(i, h, delta)
        assert torch.equal(gWs[i], K.bmm(h.transpose(1, 2), delta))
        assert torch.equal(gWs[i], K.bmm(h, delta, ta=True))
        out = torch.empty_like(gWs[i])
        assert K.bmm(h, delta, out=out, ta=True) is out and torch.equal(out, gWs[i])
        dh = mm.grad_in(i, delta)
        assert torch.equal(dh, K.bmm(delta, Ws[i].transpose(1, 2)))
        assert torch.equal(dh, K.bmm(delta, Ws[i], tb=True))
        torch.testing.assert_close(dh, torch.bmm(delta, Ws[i].transpose(1, 2)), rtol=1e-5, atol=1e-5)
        h = torch.tanh(z)


def test_layer_products_take_torch_where_numpy_cannot():
    """Tracked weights (or a GPU) keep the torch route, with torch's answers."""
    Ws, gWs, bs, g = _grad_row_views(torch.float64)
    tracked = [w.detach().clone().requires_grad_(True) for w in Ws]
    mm = K.LayerProducts(tracked, gWs)
    assert not mm.numpy
    h = torch.randn(R, N, 2, generator=g, dtype=torch.float64)
    delta = torch.randn(R, N, 16, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mm.forward(0, bs[0], h), torch.baddbmm(bs[0], h, Ws[0]))
    mm.grad_w(0, h, delta)
    torch.testing.assert_close(gWs[0], torch.bmm(h.transpose(1, 2), delta))
    torch.testing.assert_close(mm.grad_in(0, delta), torch.bmm(delta, Ws[0].transpose(1, 2)))
    out = torch.empty(R, 2, 16, dtype=torch.float64)  # bmm's torch route with out= and transposed operands
    assert K.bmm(h.clone().requires_grad_(True), delta, out=out, ta=True) is out
    torch.testing.assert_close(out.detach(), torch.bmm(h.transpose(1, 2), delta))
    torch.testing.assert_close(K.bmm(delta, tracked[1], tb=True).detach(), torch.bmm(delta, Ws[1].transpose(1, 2)))


def test_in_place_tanh_and_quiet_pass():
    x = torch.cat([torch.randn(600) * s for s in (1e-3, 1, 30)]).view(3, 20, 30)
    ref = K.tanh(x)
    y = x.clone()
    assert K.tanh_(y) is y and torch.equal(y, ref)  # the same numpy function, in place: the same bits
    out = torch.empty_like(x)
    assert K.tanh(x, out=out) is out and torch.equal(out, ref)
    big = torch.full((2, 3, 4), 3e38)
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with K.quiet_pass():  # numpy's error state set once for a pass: no warning, nothing changed
            with K.quiet_pass():
                assert not torch.isfinite(K.affine(torch.zeros(2, 1, 4), big, torch.full((2, 4, 4), 3e38))).any()
            assert np.geterr()["over"] == "ignore"
    assert np.geterr() == before  # restored to the caller's setting
