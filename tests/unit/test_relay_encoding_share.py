"""The relay splits a read-ahead batch's encoding between itself and its worker by what the
last batches showed (consumers/relay.EncodingShare): no fixed guess of two processes' speeds."""

from __future__ import annotations

from consumers.relay import EncodingShare


def test_a_relay_left_waiting_for_its_worker_encodes_more_of_the_next_batch_itself():
    share = EncodingShare()
    first = share.split(5000)
    share.after_batch(waited_for_worker=True)
    assert share.split(5000) > first


def test_a_worker_found_done_is_given_more_of_the_next_batch():
    share = EncodingShare()
    first = share.split(5000)
    share.after_batch(waited_for_worker=False)
    assert share.split(5000) < first


def test_the_share_stays_between_none_here_and_never_more_than_the_worker_could_wait_for():
    share = EncodingShare()
    for _ in range(100):
        share.after_batch(waited_for_worker=True)
    assert share.split(5000) == int(5000 * share.most) and share.most <= 0.5
    for _ in range(100):
        share.after_batch(waited_for_worker=False)
    assert share.split(5000) == 0
