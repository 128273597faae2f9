from django.contrib import admin

from .models import Execution, Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["title", "reminders"]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["label", "started", "pid"]
