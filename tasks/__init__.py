"""Tasks: generated data sets registered in TASKS; importing this package registers them all."""

from netarium.tasks import grammar, playground, sequence, synthetic, timeseries  # noqa: F401  (registration side effects)
from netarium.tasks.base import TASKS, Task, make_task
from netarium.tasks.csv import CSVError, load_csv_task

__all__ = ["TASKS", "Task", "make_task", "load_csv_task", "CSVError"]

from netarium.tasks import conditioned  # noqa: E402, F401  (task families for hypernetworks)

# isort: split
from netarium.tasks import ctr  # noqa: E402, F401  (registered after the others: listed last)

# isort: split
from netarium.tasks import elliptic  # noqa: E402, F401  (registered after the others: listed last)
