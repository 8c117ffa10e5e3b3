"""HW02, phoneme classification: data, features, models, training, prediction and scoring.

Every 10 ms frame of speech (39 MFCC features) is classified into one of 41
phoneme classes, with neighbouring frames as context. The homework's data
(libriphone, from Kaggle) is used when it is given; otherwise the course makes a
corpus of its own, in the same layout, from speech synthesised with eSpeak NG.

One concept, one module:

- `libriphone`: the official layout, `concat_feat`, `preprocess_data` (the homework's semantics);
- `dataset`: `Frames`, the memory-lean dataset that gathers context windows per batch;
- `synthesis` (`text`, `espeak`, `festival`, `acoustics`): the synthetic corpus's speech (what is said,
  speech + phoneme events, noise and reverberation); `features`, `phonemes`: its MFCC and labels;
- `corpus`: `CorpusConfig` and `make_corpus` (deterministic, cached, atomic);
- `source`: `data_source`, the real data when present, else the local corpus;
- `models`: `BasicBlock`, `Classifier` (the notes' MLP) and `SequenceClassifier` (a BiGRU);
- `training`: `Recipe`, `PRESETS`, `train` with resumable checkpoints;
- `submission`: Kaggle's CSV, public/private scoring;
- `experiments`: the chapter's quick configuration, parameter counts, confusion matrix, per-class accuracy.

Command line: ``python -m course_utils.hw02 {corpus,train,predict,score} --help``.
"""
from .corpus import CorpusConfig, make_corpus
from .dataset import Frames, load_frames
from .libriphone import LibriphoneError, concat_feat, preprocess_data
from .models import BasicBlock, Classifier, SequenceClassifier
from .phonemes import CLASSES
from .source import DataSource, data_source
from .submission import read_submission, score, write_submission
from .training import PRESETS, Recipe, load_checkpoint, predict_classes, train

__all__ = ["BasicBlock", "CLASSES", "Classifier", "CorpusConfig", "DataSource", "Frames", "LibriphoneError",
           "PRESETS", "Recipe", "SequenceClassifier", "concat_feat", "data_source", "load_checkpoint", "load_frames",
           "make_corpus", "predict_classes", "preprocess_data", "read_submission", "score", "train",
           "write_submission"]
