"""Form definitions: the YAML files, their checks and the field-type registry."""
