"""`playground`: TensorFlow Playground's spiral learned by a small MLP."""

from netarium.experiments.base import EXPERIMENTS, CheckResult, Experiment, Result
from netarium.training.config import Config

THRESHOLD = 0.9


def check_playground(result: Result) -> CheckResult:
    """Passed when test accuracy reaches 0.9 on the spiral."""
    acc = result.final.get("test_acc", float("nan"))
    passed = acc >= THRESHOLD
    verb = "reached" if passed else "stayed below"
    return CheckResult(passed, {"test_acc": acc, "threshold": THRESHOLD, "train_acc": result.final.get("train_acc", float("nan"))},
                       f"test accuracy {acc:.3f} {verb} {THRESHOLD}")


PLAYGROUND = EXPERIMENTS.register(Experiment(
    id="playground",
    title="Two spirals, one small MLP",
    paper="TensorFlow Playground (Smilkov & Carter, 2016)",
    look_for="The decision boundary bends from a line into two interleaved arms; test accuracy passes 90%.",
    config=Config(
        task={"name": "spiral", "noise": 0.1, "train_ratio": 0.5},
        model={"name": "mlp", "hidden": [16, 16], "activation": ["tanh"]},
        optimizer={"name": "adam", "lr": 0.02},
        steps=1500,
    ),
    check=check_playground,
))
