"""Class sets: per-student variants, a class's keys and sheets, grading, and exports (Moodle XML)."""
