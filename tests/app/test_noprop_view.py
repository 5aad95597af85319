"""The NoProp chain view on the Playground: with model noprop and trainer noprop it draws the label embedding's
path through the chain, the distance to the class embedding, the per-block losses over training and now; with
trainer supervised it says the chain is trained end to end; other models are not offered it."""

from __future__ import annotations

import json

NOPROP = {"task": "spiral", "model": "noprop", "model.blocks": "4", "model.hidden": "8", "trainer": "noprop"}


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_playground_draws_the_chain_and_the_per_block_losses(open_app) -> None:
    at = open_app("pages/playground.py", **NOPROP)
    live = at.session_state["netarium.live"]
    assert type(live.run.model).__name__ == "NoPropNet" and type(live.run.trainer).__name__ == "NoProp"
    live.step(20)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    traj = figs["pg.noprop-chain.trajectory"]["data"]
    assert len(traj) == 2 + 2 * 3  # the two class embeddings, three test inputs of each class
    assert all(len(t["x"]) == 5 for t in traj[2:])  # z_0 .. z_4
    losses = figs["pg.noprop-chain.losses"]["data"]
    assert [t["name"] for t in losses] == ["block 1", "block 2", "block 3", "block 4", "head cross-entropy"]
    assert len(losses[0]["x"]) == 20  # one point per step
    assert figs["pg.noprop-chain.bars"]["data"][0]["x"] == ["block 1", "block 2", "block 3", "block 4"]
    assert any("none passes from block to block" in c.value for c in at.caption)
    (per_class,) = [s for s in at.slider if s.key == "pg.noprop-chain.per_class"]
    per_class.set_value(1).run()
    assert len(charts(at)["pg.noprop-chain.trajectory"]["data"]) == 2 + 2
    (classes,) = [m for m in at.multiselect if m.key == "pg.noprop-chain.classes"]
    classes.set_value([]).run()
    assert not at.exception and any("Pick at least one class" in i.value for i in at.info)


def test_backprop_trained_chain_has_no_training_log_but_its_blocks_are_measured(open_app) -> None:
    at = open_app("pages/playground.py", **{**NOPROP, "trainer": "supervised"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    assert "pg.noprop-chain.trajectory" in figs and "pg.noprop-chain.bars" in figs
    assert "pg.noprop-chain.losses" not in figs
    assert any("end to end by back-propagation" in c.value for c in at.caption)


def test_an_mlp_gets_no_noprop_view(open_app) -> None:
    at = open_app("pages/playground.py")
    assert not any(k.startswith("pg.noprop-chain") for k in charts(at))


PAGES = ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/residual.py", "pages/dynamics.py",
         "pages/sparsity.py"]


def test_every_page_draws_or_declines_for_a_noprop_chain(open_app) -> None:
    for page in PAGES:
        at = open_app(page, **NOPROP)
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
