"""course_utils: the reference implementations, experiments, demos and exercises of the course
"Why training fails, and how to fix it".

References, named by concept (each imports nothing of the course but other references):

- `surfaces`: 2-D error surfaces and the one descent engine (`descend`: K starts at once, per-row
  hyper-parameters, any update rule; `trajectory`: one start) every optimisation chapter reuses;
- `pictures`: the one way to draw a surface: the log colour scale, filled contours (matplotlib's,
  or a picture at the axes' own size for demos), the minimum's marker, a path;
- `optim`: the notes' optimisers (SGD, momentum, AdaGrad, RMSProp, Adam) as torch.optim.Optimizer subclasses;
- `schedules`: learning-rate decay and warm-up as functions of the step;
- `training`: the one training loop of the chapters' experiments (`fit`, its `Run` record), the network
  most chapters train (`classifier`), `mean_loss` and `accuracy`;
- `hessian`: exact Hessians, critical-point kinds, escape directions, Lanczos extreme eigenvalues;
- `classification`: softmax, cross-entropy, MSE on the softmax, Hoeffding's bound;
- `batchnorm`: batch normalisation from scratch, equal to nn.BatchNorm1d;
- `data`: the bundled digits data set, split for training and validation;
- `plotting`: one figure style for the whole book;
- `languages`: the one table of the course's languages (the book's editions, the students' notebooks),
  and Traditional Chinese made from the Simplified.

Each chapter has one key, and the key names its experiments, demos, exercises and tests:
`recipe` (0), `critical` (1), `momentum` (2), `adaptive` (3), `classification` (4), `batchnorm` (5),
`hw02` (6).

- `experiments`: one module a chapter (`experiments.recipe` ... `experiments.batchnorm`), the
  chapter's experiments built on the references;
- `widgets`: the demo pattern (compute, draw, a live builder, static frames for the book), one
  submodule a chapter, and `widgets.backdrop` (what every frame shares, drawn once);
- `exercises`: `check()` and the exercise registry, one module a chapter in `exercises.chapters`;
  `registry`, `cases`, `problems` (what is asked); `check`, `evaluate`, `compare`, `feedback`
  (judging an answer, wording the verdict); `cells`, `release` (the student notebooks); `grade`,
  `session`, `sandbox`, `worker`, `protocol`, `report` (grading submissions in a sandbox);
  `workspace` (a student's own notebook folder, in English or Chinese);
- `hw02`: the phoneme-classification homework, chapter 6: `libriphone` (the official layout),
  `dataset` (context windows per batch), `models`, `training` (presets, resumable training),
  `experiments` (the chapter's), `submission`, `grading`, `lines`, `runs` (Kaggle's CSV, scoring,
  the leaderboard's lines, recipes run over seeds: the ladder, sweeps), `source` (the real data, else ours),
  `corpus` (the course's own corpus: `features` MFCC and `phonemes` labels of speech from
  `hw02.synthesis`: `text`, `espeak`, `festival`, `acoustics`), `__main__` (its command line);
- `__main__`: the command line (release, grade, merge, workspace).
"""
__version__ = "0.1.0"
