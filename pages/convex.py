"""Convex: the global optimum of a two-layer ReLU network with weight decay (a convex program, solved by ADMM
over activation patterns) beside SGD/Adam runs of the same network on the same objective."""

import streamlit as st

from netarium.experiments import convex as ex
from netarium.ui.errors import failure_sentence
from netarium.ui.text import plain_markdown
from netarium.viz import convex as cviz

TASKS = ("xor", "circle", "gauss", "spiral", "moons")
EXACT_MAX = 60  # every pattern up to this many points (3,541 patterns at 60)
LRS = {"adam": 0.01, "sgd": 0.3}
KEY = "cvx.result"

st.title("Convex: the global optimum beside SGD")
st.caption("J = (1/2n)|f(X) − y|² + (λ/2)(|W1|² + |b1|² + |a|²), f(x) = Σ a_j relu(w_j·x + b_j), y = ±1, no output bias. "
           "Its minimum over every width is a convex program over activation patterns (Pilanci & Ergen 2020), solved here "
           "by ADMM (Bai, Gautam & Sojoudi 2022) and certified by its dual. The runs train exactly J (inputs scaled by 1/5).")

with st.form("cvx.form"):
    c1, c2, c3, c4 = st.columns(4)
    task = c1.selectbox("task", TASKS, key="cvx.task")
    n = c2.slider("training points n", 20, 200, 30, 10, key="cvx.n")
    lam = c3.select_slider("λ (weight decay)", [0.01, 0.02, 0.05, 0.1, 0.2], 0.05, key="cvx.lam")
    width = c4.slider("width cap (neurons of each run)", 4, 64, 40, 4, key="cvx.width")
    c5, c6, c7, c8 = st.columns(4)
    seeds = c5.slider("seeds", 1, 5, 3, key="cvx.seeds")
    chosen = c6.segmented_control("optimizers", ["adam", "sgd"], selection_mode="multi", default=["adam", "sgd"],
                                  key="cvx.opt", help="each trains `seeds` runs of J (the same network and λ)")
    exact = c7.segmented_control("patterns", ["every pattern", "sampled"], default="every pattern", key="cvx.patterns",
                                 help=f"every pattern: exact enumeration, n ≤ {EXACT_MAX}; the optimum is the global one")
    steps = c8.select_slider("steps per run", [500, 1000, 2000, 4000], 1000, key="cvx.steps")
    solve = st.form_submit_button("Solve", type="primary")
st.caption(f"Limits: n ≤ 200, every pattern only for n ≤ {EXACT_MAX}; ADMM stops after 15 s of working-set rounds "
           "(the certified gap says how close it got), FISTA after 2,000 iterations.")


def compute():
    """Train the runs and solve; a clear message (never a traceback) when the input cannot be solved."""
    use_exact = exact != "sampled"
    if use_exact and n > EXACT_MAX:
        st.error(f"Every pattern is enumerated only for n ≤ {EXACT_MAX} (n = {n} has about {n * n - n:,} patterns): "
                 "lower n or choose “sampled”.")
        return
    if not chosen:
        st.error("Choose at least one optimizer (adam, sgd).")
        return
    config = ex.page_config(task, lam, width, chosen[0], LRS[chosen[0]], steps)
    with st.status("Training the runs, then solving the program…", expanded=False) as status:
        bar = st.progress(0.0, text="training")
        try:
            result = ex.compare_part(config, n, exact=use_exact, seeds=seeds, fista=True, deadline=15.0, max_iter=6000,
                                     optimizers={name: LRS[name] for name in chosen},
                                     progress=lambda done, total: bar.progress(min(done / max(total, 1), 1.0), text="training"))
        except (ValueError, RuntimeError) as e:
            status.update(label="Could not solve", state="error")
            st.error(plain_markdown(failure_sentence("The comparison could not be computed", e)))
            return
        status.update(label=f"Solved in {result.solve.seconds[-1]:.1f} s of ADMM", state="complete")
    st.session_state[KEY] = result


EPS_GRID = (0.0, 0.02, 0.05, 0.1)  # in the program's inputs (the Playground's units / 5)
ROBUST_KEY = "cvx.robust"


def robust_section(result) -> None:
    """Robust and clean accuracy against eps: the robust program (Bai, Gautam & Sojoudi 2022) on the same task and
    lam, beside the standard program's network under the same PGD attack; on demand (a few seconds per radius)."""
    st.subheader("Robust training against ε")
    st.caption("The robust program keeps every neuron's sign on the whole l∞ ball of radius ε around each training point "
               "and fits the worst case of the squared loss there. Each network is attacked by PGD (20 steps) at the ε it "
               f"was trained for. ε in the program's inputs (the Playground's units ÷ {ex.SCALE:g}): {', '.join(map(str, EPS_GRID))}.")
    if st.button("Train robustly against ε", key="cvx.robust.go"):
        with st.spinner(f"Solving the robust program at {len(EPS_GRID)} radii (at most {ROBUST_SECONDS:g} s each)…"):
            try:
                st.session_state[ROBUST_KEY] = (id(result), ex.acx.robust_against_eps(
                    result.task, result.lam, EPS_GRID, time_limit=ROBUST_SECONDS))
            except (ValueError, RuntimeError) as e:
                st.error(plain_markdown(failure_sentence("The robust program could not be solved", e)))
    held = st.session_state.get(ROBUST_KEY)
    if held is None or held[0] != id(result):
        return
    r = held[1]
    st.plotly_chart(cviz.robust_figure(r), key="cvx.robust.figure", config={"displayModeBar": False})
    done = sum(r.converged)
    st.caption(f"{r.patterns} patterns (sampled gates and the robust program's margin splits), λ = {result.lam:g}; "
               f"neurons of the robust nets: {', '.join(map(str, r.neurons))}; {done} of {len(r.converged)} robust solves "
               f"reached their tolerance in the time ({r.seconds:.1f} s in all): "
               + ("their accuracies are those of the last iterate." if done < len(r.converged) else "every one converged."))


ROBUST_SECONDS = 3.0


if solve:
    compute()
result = st.session_state.get(KEY)
if result is not None:
    s = result.solve
    m = st.columns(6)
    m[0].metric("optimum J*", f"{s.upper:.6f}", help="J of the network mapped from the solution: a real network")
    m[1].metric("certified gap", f"{s.gap:.1e}", help=f"dual lower bound {s.lower:.6f} over all {s.patterns:,} patterns")
    m[2].metric("patterns", f"{s.patterns:,}", help=("every pattern (exact)" if result.exact else "sampled + the runs' own")
                + f"; working set {s.working}")
    m[3].metric("active patterns", s.active)
    m[4].metric("recovered neurons", s.neurons)
    m[5].metric("best run J", f"{min(r.final for r in result.runs):.6f}")
    below = "at or below" if result.below_every_run() else "NOT below"
    st.markdown(f"λ = {result.lam:g}, n = {result.n}: the optimum is **{below}** every run's J "
                + ", ".join(f"{r.label}: {r.final:.6f} ({r.neurons} neurons)" for r in result.runs) + ".")
    st.plotly_chart(cviz.objective_figure(result), key="cvx.objective", config={"displayModeBar": False})
    st.plotly_chart(cviz.gap_figure(result), key="cvx.gap", config={"displayModeBar": False})
    st.caption("Runs' J per evaluation as they recorded it: the training loss of that step's forward pass (the weights one step "
               "earlier) + (λ/2)|θ|² after it; their final J, from the final weights, as a point; "
               "their seconds are the batched program's time divided by the number of runs. FISTA solves the gated "
               "relaxation: its value may fall below J*.")
    panels = [("global optimum" if result.exact else "program's optimum", s.network, s.neurons)]
    panels += [(r.label, r.net, r.neurons) for r in result.runs]
    pts, signs = result.task.meta["points_train"], result.task.y_train
    cols = st.columns(3)
    for i, (title, net, used) in enumerate(panels):
        with cols[i % 3]:
            fig = cviz.boundary_panel(ex.acx.net_surface(net, result.task), pts, signs, f"{title}: {used} of {len(net['a'])} neurons used")
            st.plotly_chart(fig, key=f"cvx.boundary.{i}", config={"displayModeBar": False})
    robust_section(result)
else:
    st.info("Choose a task and press **Solve**: the runs train, then the program is solved on their data.")
