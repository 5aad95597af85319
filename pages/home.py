"""Home: what Netarium is, the experiments gallery, and what is registered, read from the registries."""

import streamlit as st

from netarium.experiments import EXPERIMENTS
from netarium.models import MODELS
from netarium.schema import Registry
from netarium.tasks import TASKS
from netarium.training.optim import OPTIMIZERS


def registry_rows(registry: Registry) -> list[dict[str, str]]:
    """One row per registered entry: its name, what it is, and the settings its schema declares."""
    return [{"name": e.name, "description": e.description, "settings": ", ".join(e.schema.model_fields)} for e in registry]


st.title("Netarium")
st.write(
    "A lab bench for small neural networks: train a network live, on the CPU or a GPU, see inside it "
    "while it learns (decision boundaries, circuit diagrams, representational geometry, the residual stream, training "
    "dynamics), and reproduce the phenomena of published papers, each one click away as an experiment."
)

st.page_link("pages/playground.py", label="Open the Playground: train a network live and watch it", icon=":material/hub:")

st.header("Experiments")
st.table([{"id": e.id, "title": e.title, "paper": e.paper, "what to look for": e.look_for} for e in EXPERIMENTS],
         hide_index=True)

st.header("Registered")
st.subheader(f"Tasks ({len(TASKS)})")
st.table(registry_rows(TASKS), hide_index=True)
for column, (label, registry) in zip(st.columns(2), [("Models", MODELS), ("Optimizers", OPTIMIZERS)], strict=True):
    column.subheader(f"{label} ({len(registry)})")
    column.table(registry_rows(registry), hide_index=True)

st.header("Headless")
st.write("The same engine runs from the terminal:")
st.code("netarium list                     # tasks, models, optimizers and experiments\n"
        "netarium run playground --check   # train an experiment's preset and check the phenomenon", language="bash")
