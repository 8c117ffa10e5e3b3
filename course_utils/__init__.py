"""course_utils: the reference implementations, demos and exercises of the course
"Why training fails, and how to fix it".

One concept, one module:

- `surfaces`: 2-D error surfaces and the trajectory runner every optimisation chapter reuses;
- `recipe`: chapter 0's models (hard sigmoids, sigmoid and ReLU sums) and training steps;
- `guide`: chapter 0's practical-guide experiments (model bias, optimisation, overfitting, mismatch);
- `hessian`: exact Hessians, critical-point kinds, escape directions, Lanczos extreme eigenvalues;
- `optim`: the notes' optimisers (SGD, momentum, AdaGrad, RMSProp, Adam) as torch.optim.Optimizer subclasses;
- `schedules`: learning-rate decay and warm-up as functions of the step;
- `classification`: softmax, cross-entropy, MSE on the softmax, Hoeffding's bound;
- `batchnorm`: batch normalisation from scratch, equal to nn.BatchNorm1d;
- `hw02`: the phoneme-classification homework (libriphone layout, eSpeak NG corpus, lean dataset, models, training, scoring);
- `widgets`: the demo pattern (compute, draw, a live builder, static frames for the book);
- `exercises`: `check()`, the exercise registry, release and grading;
- `plotting`: one figure style for the whole book.
"""
__version__ = "0.1.0"
