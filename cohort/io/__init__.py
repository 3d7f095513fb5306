"""Reading and writing cohort folders: files, mappings, parsing, units, atomic writes."""
