"""Ground floor: vocabularies, environment readers and other helpers every app may use."""
