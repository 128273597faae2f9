"""The seed's example package (superdjango's scheduler docs name ``example.scheduler`` and
``example.automation``): importable as ``example`` once tests/ is on sys.path, and as an
installed app for the tests of autodiscovery."""
