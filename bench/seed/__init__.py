"""The seed, django-background-tasks, for the benchmark: an app (bench.seed) whose tasks.py
holds its @background no-op, the settings that install it (bench.seed.settings, on a
database of its own), and the script that schedules its burst (bench.seed.schedule)."""
