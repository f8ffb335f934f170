"""Small, dependency-light building blocks shared by the domain packages (secrets, redaction)."""
