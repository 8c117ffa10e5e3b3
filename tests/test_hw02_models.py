"""The notes' BasicBlock and Classifier, and the sequence model."""
import torch
from torch import nn

from course_utils.hw02.models import BasicBlock, Classifier, SequenceClassifier, count_parameters


def test_basic_block_is_linear_relu_batchnorm_dropout_in_that_order():
    block = BasicBlock(10, 8, dropout=0.25, batchnorm=True).block
    assert [type(m) for m in block] == [nn.Linear, nn.ReLU, nn.BatchNorm1d, nn.Dropout]
    assert block[3].p == 0.25
    assert [type(m) for m in BasicBlock(10, 8, dropout=0, batchnorm=False).block] == [nn.Linear, nn.ReLU]


def test_classifier_shapes_and_parameter_count():
    d, h, layers, classes = 39 * 21, 64, 3, 41
    model = Classifier(d, classes, hidden_layers=layers, hidden_dim=h, dropout=0.25, batchnorm=True)
    assert model(torch.randn(7, d)).shape == (7, classes)
    linear = (d * h + h) + (layers - 1) * (h * h + h) + (h * classes + classes)
    assert count_parameters(model) == linear + layers * 2 * h     # BatchNorm: γ and β per unit
    sample_code = Classifier(39, 41, hidden_layers=1, hidden_dim=256)
    assert count_parameters(sample_code) == 39 * 256 + 256 + 256 * 41 + 41


def test_sequence_classifier_ignores_padding_and_batch_mates():
    torch.manual_seed(0)
    model = SequenceClassifier(6, 41, hidden_layers=2, hidden_dim=8).eval()
    a, b = torch.randn(5, 6), torch.randn(9, 6)
    batch = torch.stack([torch.cat([a, a[-1:].expand(4, -1)]), b])
    out = model(batch, torch.tensor([5, 9]))
    assert out.shape == (2, 9, 41)
    torch.testing.assert_close(out[0, :5], model(a[None], torch.tensor([5]))[0])
    torch.testing.assert_close(out[1], model(b[None], torch.tensor([9]))[0])
