import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.registry import OPTIM_WRAPPERS


def make(wrapper_type, max_norm=3.0):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    return model, OPTIM_WRAPPERS.build(dict(type=wrapper_type, optimizer=opt,
                                            clip_grad=dict(max_norm=max_norm)))


def set_grads(model, scales):
    for p, s in zip(model.parameters(), scales):
        p.grad = torch.full_like(p, s)


def test_each_tensor_is_clipped_on_its_own():
    MessageHub.get_instance('clip_test')
    model, wrapper = make('PerParamClipOptimWrapper', max_norm=3.0)
    set_grads(model, [10.0, 0.01, 1.0, 0.5])
    before = [p.grad.clone() for p in model.parameters()]
    wrapper._clip_grad()
    for b, p in zip(before, model.parameters()):
        n = b.norm()
        expected = b * min(1.0, 3.0 / (n.item() + 1e-6))
        torch.testing.assert_close(p.grad, expected)
        assert p.grad.norm() <= 3.0 + 1e-4
    # small tensors untouched, big ones at the bound; a global clip would scale all.
    assert torch.equal(list(model.parameters())[1].grad, before[1])
    assert list(model.parameters())[0].grad.norm().item() == pytest.approx(3.0, rel=1e-5)
    total = torch.stack([b.norm() for b in before]).norm().item()
    assert wrapper.message_hub.get_scalar('train/grad_norm').current() == pytest.approx(total)


def test_amp_variant_uses_per_param_clipping():
    from mmengine.optim import AmpOptimWrapper

    from mgc_mm.engine import PerParamClipAmpOptimWrapper, PerParamClipMixin
    assert issubclass(PerParamClipAmpOptimWrapper, AmpOptimWrapper)
    # AmpOptimWrapper.step unscales, then calls _clip_grad: ours must be the one found.
    assert PerParamClipAmpOptimWrapper._clip_grad is PerParamClipMixin._clip_grad


@pytest.mark.skipif(not torch.cuda.is_available(), reason='mmengine AMP needs a GPU')
def test_amp_variant_clips_unscaled_gradients_on_gpu():
    model, wrapper = make('PerParamClipAmpOptimWrapper', max_norm=1.0)
    model.cuda()
    loss = model(torch.randn(4, 8, device='cuda')).pow(2).sum() * 1e3
    wrapper.backward(loss)  # scaled gradients
    wrapper.step()  # unscale, clip each tensor, step
    norms = [p.grad.norm().item() for p in model.parameters()]
    assert max(norms) == pytest.approx(1.0, rel=1e-3)


def test_rejects_unknown_clip_arguments():
    model, wrapper = make('PerParamClipOptimWrapper')
    wrapper.clip_grad_kwargs = dict(max_norm=1.0, error_if_nonfinite=True)
    set_grads(model, [1.0] * 4)
    with pytest.raises(ValueError, match='max_norm'):
        wrapper._clip_grad()
