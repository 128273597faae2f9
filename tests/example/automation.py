def inactive_job(**kwargs):
    return None
