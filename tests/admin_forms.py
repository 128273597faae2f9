"""What the admin's change forms post, for the tests that post them."""


def job_form(**changes: str) -> dict[str, str]:
    """A scheduled job's change form: its editable fields, with ``changes``."""
    data = {
        "time_slot_start_0": "2030-01-01",
        "time_slot_start_1": "10:00:00",
        "time_slot_end_0": "2030-01-08",
        "time_slot_end_1": "10:00:00",
        "queue": "",
        "max_attempts": "1",
        "priority": "",
    }
    return {**data, **changes}
