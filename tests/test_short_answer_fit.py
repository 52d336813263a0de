"""The short answer's margin (Tuning.reader_answer_margin) is chosen over two dev sets weighed
alike: evals.short_answer_fit."""

from evals.short_answer_fit import Reading, choose, cost, squad_readings


def test_a_short_answer_is_shown_where_it_is_more_likely_right_than_not_over_both_sets():
    # a large set whose wrong readings sit low, and a small one (users' words) whose right
    # readings sit lower still: each set counts as much as the other
    large = ([Reading(m, True) for m in (3.0, 2.5, 2.0, 1.5)] + [Reading(m, False) for m in (0.5, 0.2, -0.1, -0.4)]
             + [Reading(-3.0, True)])
    small = [Reading(1.0, True), Reading(-0.25, True), Reading(-0.3, True), Reading(-2.0, False)]
    assert cost(large, 1.0) == {"shown": 4, "right": 4, "cost": 1 / 9}
    assert cost(small, 1.0)["cost"] == 2 / 4  # the right readings at -0.25 and -0.3 hidden
    chosen = choose([large, small])
    assert -0.4 < chosen < -0.3  # shows the small set's right readings at the cost of three wrong in the large
    assert choose([large]) > 0.5  # the large set alone would hide the small set's right reading


def test_readings_of_a_squad_report_count_unanswerable_ones_as_wrong():
    rows = [{"impossible": False, "abstained": False, "short": "韩国", "margin": 1.0, "f1": 1.0},
            {"impossible": False, "abstained": False, "short": "6月", "margin": 0.5, "f1": 0.4},
            {"impossible": True, "abstained": False, "short": "诺曼人", "margin": 2.0, "f1": None},
            {"impossible": False, "abstained": True, "short": None, "margin": None, "f1": None},
            {"impossible": False, "abstained": False, "short": None, "margin": None, "f1": 0.0}]
    assert squad_readings({"rows": rows}) == [Reading(1.0, True), Reading(0.5, False), Reading(2.0, False)]
