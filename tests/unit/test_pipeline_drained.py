"""When a run `--until-idle` may stop: each stage idle after the stage before it last worked
(ledger/processes.py). The stages here are scripted: what is judged is the bookkeeping."""

from __future__ import annotations

import threading

from ledger.processes import Runner, pipeline_drained


class ScriptedStage:
    """A stage whose steps do the work given, one amount a step, idle after each."""

    name = "scripted"

    def __init__(self, *work: int):
        self.work = list(work)

    def step(self) -> int:
        return self.work.pop(0)

    def idle(self) -> bool:
        return True


def runner(stage) -> Runner:
    return Runner(stage, threading.Event(), wakeable_pause=0.0)


def test_a_stage_that_works_after_being_idle_starts_its_idle_streak_again():
    relay = runner(ScriptedStage(0, 190))
    relay.step()  # idle, nothing to do
    first_streak = relay.idle_since
    relay.step()  # then published 190 events, and is caught up again

    assert relay.idle_since > first_streak


def test_a_drain_waits_for_the_next_stage_to_look_again_after_that_work():
    relay, projector = runner(ScriptedStage(0, 190)), runner(ScriptedStage(0, 0))
    relay.step()
    projector.step()  # idle: it has read all there was
    assert pipeline_drained([relay, projector])

    relay.step()  # more published: the projector's last look predates it
    assert not pipeline_drained([relay, projector])
    projector.step()
    assert pipeline_drained([relay, projector])
