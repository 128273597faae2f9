from future_celery.tracebacks import own_frames

TRACEBACK = """Traceback (most recent call last):
  File "/venv/lib/python3.12/site-packages/celery/app/trace.py", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
                 ^^^^^^^^^^^^^^^^^^^^
  File "/app/future_celery/tasks.py", line 55, in run_job
    execution.execute(job)
  File "/app/future_celery/execution.py", line 59, in call
    return func(*args, **kwargs)
  File "/app/myapp/jobs.py", line 12, in remind
    send(user)
  File "/app/myapp/mail.py", line 3, in send
    raise ValueError("no address")
ValueError: no address"""


def test_the_jobs_own_frames_come_without_the_machinerys():
    own = own_frames(TRACEBACK)
    assert own is not None
    assert own.splitlines() == [
        "Traceback (most recent call last):",
        '  File "/app/myapp/jobs.py", line 12, in remind',
        "    send(user)",
        '  File "/app/myapp/mail.py", line 3, in send',
        '    raise ValueError("no address")',
        "ValueError: no address",
    ]


def test_text_that_is_no_traceback_or_has_no_own_frame_is_left_alone():
    assert own_frames("Worker lost: gone") is None
    machinery_only = "\n".join([*TRACEBACK.splitlines()[:7], "RuntimeError: x"])
    assert own_frames(machinery_only) is None
