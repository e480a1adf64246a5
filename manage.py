#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    # An empty DJANGO_SETTINGS_MODULE (set but blank, as some tools do) means the default too.
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
