"""The homework's models: a frame classifier (MLP) and a sequence labeller (bidirectional RNN).

**Frame classifier.** The notes' `BasicBlock` is

    h ↦ Dropout_p( BatchNorm( ReLU( W h + b ) ) ),

(BatchNorm and Dropout optional here, so that the sample code's plain MLP is the
same class), and `Classifier` stacks one block from the 39·n inputs to the
hidden width, `hidden_layers − 1` more blocks, and a linear layer to the 41
class scores (logits; the softmax is inside the cross-entropy loss).

**Sequence labeller.** `SequenceClassifier` reads a whole utterance: a
bidirectional GRU (or LSTM) sees every frame with the past and the future,

    h_t = [GRU→(x_1 … x_t) ; GRU←(x_T … x_t)],   ŷ_t = softmax(W h_t + b),

so it chooses its own context instead of a fixed window of n frames.
"""
from torch import nn


class BasicBlock(nn.Module):
    """Linear → ReLU → BatchNorm1d → Dropout, as in the notes (the last two optional)."""

    def __init__(self, input_dim, output_dim, dropout=0.25, batchnorm=True):
        super().__init__()
        layers = [nn.Linear(input_dim, output_dim), nn.ReLU()]
        if batchnorm:
            layers.append(nn.BatchNorm1d(output_dim))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class Classifier(nn.Module):
    """`hidden_layers` BasicBlocks of width `hidden_dim`, then a linear layer to `output_dim` logits."""

    def __init__(self, input_dim, output_dim=41, hidden_layers=1, hidden_dim=256, dropout=0.0, batchnorm=False):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * hidden_layers
        self.fc = nn.Sequential(*[BasicBlock(a, b, dropout, batchnorm) for a, b in zip(dims, dims[1:])],
                                nn.Linear(dims[-1], output_dim))

    def forward(self, x):
        return self.fc(x)


class SequenceClassifier(nn.Module):
    """A bidirectional GRU/LSTM over padded utterances (B, T, input_dim) → logits (B, T, output_dim)."""

    def __init__(self, input_dim, output_dim=41, hidden_layers=2, hidden_dim=128, dropout=0.2, cell="gru"):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(input_dim, hidden_dim, num_layers=hidden_layers, batch_first=True, bidirectional=True,
                       dropout=dropout if hidden_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden_dim, output_dim)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        return self.out(self.dropout(h))


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
