"""Board platforms, tops, synthesis runs and resource/timing reports."""
