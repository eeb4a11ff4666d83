#!/usr/bin/python3
"""examples/sklearn_objective.py - a scikit-learn model as a `taml search
--objective`: one search over several of scikit-learn's datasets at once,
with shared parameters (the multitask controller learns across them).

    taml search --study sk.db --method multitask --trials 20 \\
        --task iris --task wine --task breast_cancer \\
        --space examples/sklearn_space.json \\
        --objective '/usr/bin/python3 examples/sklearn_objective.py'

Reads the trial's config on stdin ({"C": ..., "penalty": ..., "scale":
...}), the dataset from $TAML_TASK and the seed from $TAML_SEED; trains a
logistic regression on 60% of the data, prints {"valid": ..., "test": ...}
(accuracies on two 20% splits) as its last line. Errors go to stderr with a
non-zero exit: taml records the trial as failed with their end.
"""
import json
import os
import sys
import warnings

from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    config = json.loads(sys.stdin.readline())
    task = os.environ["TAML_TASK"]
    seed = int(os.environ["TAML_SEED"]) % (2**32)
    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine,
               "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
    if task not in loaders:
        sys.exit("sklearn_objective: unknown dataset %r (one of %s)" % (task, ", ".join(loaders)))
    x, y = loaders[task](return_X_y=True)
    # the splits are the task's (seed 0), the model's randomness the trial's
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_valid, x_test, y_valid, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=0,
                                                        stratify=y_rest)
    model = LogisticRegression(C=float(config["C"]), penalty=config.get("penalty", "l2"),
                               solver="liblinear", random_state=seed, max_iter=200)
    if config.get("scale", True):
        model = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the score says it
        model.fit(x_train, y_train)
    print(json.dumps({"valid": model.score(x_valid, y_valid), "test": model.score(x_test, y_test)}))


if __name__ == "__main__":
    main()
