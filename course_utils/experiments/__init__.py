"""Each chapter's experiments, one module per chapter, named by the chapter's key.

The same key names the chapter's demos (``course_utils.widgets.<key>``), exercises
(``course_utils.exercises.chapters.<key>``) and tests (``tests/test_*_<key>.py``); the
reference implementations they build on sit at the top of ``course_utils``, named by concept
(``surfaces``, ``optim``, ``hessian``, ``batchnorm``, ``classification``, ...).

- ``recipe`` (chapter 0): hard sigmoids and sigmoid/ReLU sums, the training recipe, and the
  practical guide's four failures (model bias, optimisation failure, overfitting, mismatch);
- ``critical`` (chapter 1): the notes' two-weight example, its Taylor approximation, escaping a
  saddle point, the minimum-ratio study;
- ``momentum`` (chapter 2): batch size (noise, speed, flatness), momentum on the ravine, the
  rates of gradient descent and momentum;
- ``adaptive`` (chapter 3): the valley, the optimiser race, schedules, the digits experiment;
- ``classification`` (chapter 4): the three-class surfaces, a classifier trained with each loss,
  Hoeffding's bound simulated;
- ``batchnorm`` (chapter 5): feature scale and the error surface, training with and without BN.
"""
